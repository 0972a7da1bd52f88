// Package storetest is the contract every messagesvc store adapter passes
// (embedded and Cassandra). It lives in a non-test file so each adapter's
// tests can run it, and it checks only what store.go documents.
//
// Cases make their own users, senders and conversations from fresh random
// ids, so an adapter may hand every case the same store (Cassandra: one
// keyspace per run) or a new one (embedded: a temp dir). Cases run in
// parallel.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/messagesvc/internal/store"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// Run runs the contract suite against the stores newStore returns.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newSuite(newStore)
	for _, c := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"PingAnswers", s.ping},

		{"ClaimSendFirstIsFreshRetryGetsOwner", s.claimFirstThenOwner},
		{"ClaimSendConcurrentClaimsOfOneKeyHaveExactlyOneFresh", s.claimConcurrent},
		{"ClaimSendKeysAndSendersAreIndependent", s.claimIndependent},

		{"PutMessageRoundTripsEveryField", s.putRoundTrip},
		{"PutMessageTwiceIsOneMessage", s.putIdempotent},
		{"GetMessagesIsAscendingAndLeavesOutMissing", s.getMessagesOrderAndMissing},
		{"HistoryOfEmptyConversationIsEmpty", s.historyEmpty},
		{"HistoryNewestPageAndEdges", s.historyNewestAndEdges},
		{"HistoryPagesBackwardAcrossBuckets", s.historyBackward},
		{"HistoryPagesForwardAcrossBuckets", s.historyForward},
		{"HistoryMoreIsExactWhenPagesDivideEvenly", s.historyMoreExact},
		{"AttachmentMetadataRoundTripsThroughGetAndHistory", s.attachmentMetadata},

		{"InboxAppendRoundTripsEveryField", s.inboxRoundTrip},
		{"InboxAppendTwiceIsOneEntry", s.inboxIdempotent},
		{"InboxReadAfterPagesInOrderAcrossDays", s.inboxPaging},
		{"InboxEntriesOfOtherUsersAreInvisible", s.inboxIsolation},
		{"InboxEntriesOlderThanRetentionAreGone", s.inboxRetention},

		{"CursorOfUnknownDeviceIsNotOK", s.cursorUnknown},
		{"CursorOnlyMovesForward", s.cursorForward},
		{"CursorConcurrentOutOfOrderAdvancesEndAtMax", s.cursorConcurrent},

		{"MarkReceivedFirstTimeWins", s.markReceivedFirstWins},
		{"MarkReceivedPerRecipient", s.markReceivedPerRecipient},
		{"MarkReceivedConcurrentAcksRecordOneTime", s.markReceivedConcurrent},
		{"ReadWatermarkIsZeroWhenNone", s.watermarkZero},
		{"AdvanceReadOnlyMovesForward", s.advanceReadForward},
		{"AdvanceReadConcurrentAdvancesEndAtMax", s.advanceReadConcurrent},
		{"DeliveriesCombineReceivedAndReadWatermark", s.deliveries},

		{"ConversationsMostRecentFirst", s.conversationsOrder},
		{"ConversationsPageByBeforeAndLimit", s.conversationsPaging},
		{"TouchConversationConcurrentEndsAtMax", s.touchConcurrent},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t)
		})
	}
	for _, c := range s.groupCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t)
		})
	}
}

type suite struct {
	newStore func(t *testing.T) store.Store
	ids      *ids.Generator
}

func newSuite(newStore func(t *testing.T) store.Store) *suite {
	// A random node, so runs that share a store never collide.
	gen, err := ids.NewGenerator(int(randomUint64() % (ids.MaxNode + 1)))
	if err != nil {
		panic(err)
	}
	return &suite{newStore: newStore, ids: gen}
}

func randomUint64() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:])
}

func unique(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// ctx bounds one case, so a hung adapter fails instead of stalling the run.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// now is a millisecond-precision UTC time: what every adapter keeps.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// daysAgo is a time d days before now, on a millisecond.
func daysAgo(d float64) time.Time {
	return now().Add(-time.Duration(d * float64(24*time.Hour))).Truncate(time.Millisecond)
}

// idAt returns the n-th id at t: ids.FromTime(t)+n. Cases use it to place
// messages and inbox entries weeks apart, across buckets and days; ids are
// unique within a case because its conversations and users are.
func idAt(t time.Time, n int) ids.ID {
	if !t.After(ids.Epoch) {
		panic("storetest: time before the id epoch")
	}
	return ids.FromTime(t) + ids.ID(n)
}

// direct returns a fresh 1:1 conversation and its two users.
func (s *suite) direct(t *testing.T) (protocol.ConversationID, ids.ID, ids.ID) {
	t.Helper()
	a, b := s.ids.Next(), s.ids.Next()
	conv, err := protocol.DirectConversation(protocol.UserID(a), protocol.UserID(b))
	if err != nil {
		t.Fatal(err)
	}
	return conv, a, b
}

// group returns a fresh group conversation.
func (s *suite) group() protocol.ConversationID {
	return protocol.GroupConversation(protocol.GroupID(s.ids.Next()))
}

func message(conv protocol.ConversationID, sender ids.ID, id ids.ID) entity.Message {
	return entity.Message{ID: id, Conversation: conv, SenderID: sender, SenderDevice: "phone",
		ClientMsgID: "c-" + id.String(), Kind: protocol.KindUser, Body: "body " + id.String()}
}

func put(t *testing.T, st store.Store, msgs ...entity.Message) {
	t.Helper()
	for _, m := range msgs {
		if err := st.PutMessage(ctx(t), m); err != nil {
			t.Fatalf("PutMessage(%d): %v", m.ID, err)
		}
	}
}

func equalMessages(a, b entity.Message) bool {
	return a.ID == b.ID && a.Conversation == b.Conversation && a.SenderID == b.SenderID &&
		a.SenderDevice == b.SenderDevice && a.ClientMsgID == b.ClientMsgID && a.Kind == b.Kind &&
		a.Body == b.Body && slices.Equal(a.Attachments, b.Attachments) &&
		slices.Equal(a.SystemUserIDs, b.SystemUserIDs) && a.SystemName == b.SystemName
}

func messageIDs(msgs []entity.Message) []ids.ID {
	out := make([]ids.ID, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

func sortedIDs(v []ids.ID) []ids.ID {
	out := slices.Clone(v)
	slices.Sort(out)
	return out
}

// parallel runs fn(i) for i in [0,n) at once (released together) and waits.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}

// shuffled returns 0..n-1 in random order.
func shuffled(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := int(randomUint64() % uint64(i+1))
		p[i], p[j] = p[j], p[i]
	}
	return p
}

func (s *suite) ping(t *testing.T) {
	if err := s.newStore(t).Ping(ctx(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}
