package usecase_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/messagesvc/internal/store"
	"github.com/parleychat/parley/messagesvc/internal/store/embedded"
	"github.com/parleychat/parley/messagesvc/internal/usecase"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/groupapi"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
	"github.com/parleychat/parley/shared/routerapi"
)

// The people of these tests. Ids are small but valid; ids.ID order decides
// the direct conversation ids.
const (
	alice ids.ID = 1001
	bob   ids.ID = 1002
	carol ids.ID = 1003
	dave  ids.ID = 1004
	ghost ids.ID = 1999 // no account

	// sentinel is the user a flush marker is pushed to; see harness.flush.
	sentinel ids.ID = 9999
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func direct(t testing.TB, a, b ids.ID) protocol.ConversationID {
	t.Helper()
	c, err := protocol.DirectConversation(protocol.UserID(a), protocol.UserID(b))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// recordingRouter stands in for the router: it records every delivery item
// and fails when told to.
type recordingRouter struct {
	mu    sync.Mutex
	items []routerapi.DeliveryItem
	calls int
	users []int // users per call
	fail  error
	// failTimes, when positive, fails that many calls with fail and then
	// succeeds.
	failTimes int
}

func (r *recordingRouter) Deliver(_ context.Context, items []routerapi.DeliveryItem) ([]routerapi.DeliveryOutcome, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	n := 0
	for _, it := range items {
		n += len(it.Users)
	}
	r.users = append(r.users, n)
	r.items = append(r.items, items...)
	if r.fail != nil && r.failTimes >= 0 {
		if r.failTimes > 0 {
			r.failTimes--
			if r.failTimes == 0 {
				r.failTimes = -1 // spent: succeed from now on
			}
		}
		return nil, r.fail
	}
	return make([]routerapi.DeliveryOutcome, len(items)), nil
}

func (r *recordingRouter) setFail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail, r.failTimes = err, 0
}

// failNext fails the next n calls with err, then succeeds.
func (r *recordingRouter) failNext(n int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail, r.failTimes = err, n
}

func (r *recordingRouter) callCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

func (r *recordingRouter) snapshot() []routerapi.DeliveryItem {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.items)
}

// usersStub is authsvc: the set of existing accounts.
type usersStub struct {
	mu    sync.Mutex
	known map[ids.ID]bool
}

func (u *usersStub) Exists(_ context.Context, user ids.ID) (bool, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.known[user], nil
}

func (u *usersStub) add(user ids.ID) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.known[user] = true
}

// groupsStub is groupsvc: members per group, each joined at joined[group][user]
// (unix ms; absent: at the epoch, so they see everything).
type groupsStub struct {
	mu          sync.Mutex
	members     map[ids.ID][]ids.ID
	joined      map[ids.ID]map[ids.ID]int64
	invalidated []ids.ID
}

// set replaces group's members (nil: the group is deleted) while use
// cases may be reading.
func (g *groupsStub) set(group ids.ID, members ...ids.ID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if members == nil {
		delete(g.members, group)
		return
	}
	g.members[group] = members
}

func (g *groupsStub) join(group, user ids.ID, at time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.joined == nil {
		g.joined = map[ids.ID]map[ids.ID]int64{}
	}
	if g.joined[group] == nil {
		g.joined[group] = map[ids.ID]int64{}
	}
	g.joined[group][user] = at.UnixMilli()
}

func (g *groupsStub) Roster(_ context.Context, group ids.ID) (groupapi.Roster, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	m, ok := g.members[group]
	if !ok {
		return groupapi.Roster{}, errs.New(errs.NotFound, "no such group")
	}
	r := groupapi.Roster{Group: group, Version: 1}
	for _, u := range m {
		r.Members = append(r.Members, groupapi.Member{User: u, Role: groupapi.RoleMember, JoinedAtMs: g.joined[group][u]})
	}
	return r, nil
}

func (g *groupsStub) Memberships(_ context.Context, user ids.ID) ([]groupapi.Membership, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []groupapi.Membership
	for group, m := range g.members {
		if slices.Contains(m, user) {
			out = append(out, groupapi.Membership{Group: group, Role: groupapi.RoleMember, JoinedAtMs: g.joined[group][user]})
		}
	}
	return out, nil
}

func (g *groupsStub) Invalidate(group ids.ID, _ int64, _ []ids.ID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.invalidated = append(g.invalidated, group)
}

// faultyStore is the real embedded store with injected failures of single
// writes, before or after they apply (a timeout that still took effect).
type faultyStore struct {
	*embedded.Store
	mu     sync.Mutex
	before map[string]int // method → calls left to fail without writing
	after  map[string]int // method → calls left to fail after writing
}

func (f *faultyStore) failBefore(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.before[method] > 0 {
		f.before[method]--
		return errs.New(errs.Unavailable, "injected failure of "+method)
	}
	return nil
}

func (f *faultyStore) failAfter(method string, err error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil && f.after[method] > 0 {
		f.after[method]--
		return errs.New(errs.DeadlineExceeded, "injected timeout after "+method)
	}
	return err
}

func (f *faultyStore) Append(ctx context.Context, entries []entity.InboxEntry) error {
	if err := f.failBefore("Append"); err != nil {
		return err
	}
	return f.failAfter("Append", f.Store.Append(ctx, entries))
}

func (f *faultyStore) TouchConversation(ctx context.Context, user ids.ID, conv protocol.ConversationID, last ids.ID) error {
	if err := f.failBefore("TouchConversation"); err != nil {
		return err
	}
	return f.failAfter("TouchConversation", f.Store.TouchConversation(ctx, user, conv, last))
}

func (f *faultyStore) PutMessage(ctx context.Context, m entity.Message) error {
	if err := f.failBefore("PutMessage"); err != nil {
		return err
	}
	return f.failAfter("PutMessage", f.Store.PutMessage(ctx, m))
}

func (f *faultyStore) MarkReceived(ctx context.Context, conv protocol.ConversationID, user ids.ID, msgIDs []ids.ID, at time.Time) ([]ids.ID, error) {
	if err := f.failBefore("MarkReceived"); err != nil {
		return nil, err
	}
	newly, err := f.Store.MarkReceived(ctx, conv, user, msgIDs, at)
	return newly, f.failAfter("MarkReceived", err)
}

func (f *faultyStore) AdvanceRead(ctx context.Context, user ids.ID, conv protocol.ConversationID, upTo ids.ID, at time.Time) (entity.Watermark, bool, error) {
	if err := f.failBefore("AdvanceRead"); err != nil {
		return entity.Watermark{}, false, err
	}
	wm, moved, err := f.Store.AdvanceRead(ctx, user, conv, upTo, at)
	return wm, moved, f.failAfter("AdvanceRead", err)
}

type options struct {
	faults      bool           // the use cases see the store through a faultyStore (h.faults)
	groups      usecase.Groups // nil: groupsvc not configured
	pushQueue   int            // default 1024
	startPusher bool           // run the pusher's worker (default in newHarness)
	pointerMax  int            // groups: largest with inbox pointers (0: the default)
}

// harness wires the use cases to a real embedded store in a temp dir and
// to stand-ins for the other services.
type harness struct {
	t        *testing.T
	ctx      context.Context
	store    *embedded.Store
	faults   *faultyStore
	gen      *ids.Generator
	router   *recordingRouter
	users    *usersStub
	reg      *prometheus.Registry
	pusher   *usecase.Pusher
	access   *usecase.Access
	limits   protocol.Limits
	send     *usecase.SendMessage
	sync     *usecase.Sync
	history  *usecase.History
	typing   *usecase.Typing
	receipts *usecase.Receipts
	convs    *usecase.Conversations

	groupsPort usecase.Groups // options.groups
	pointerMax int
	stopPusher func()
	seen       int // router items already returned by flush
	reqN       int
}

func newHarness(t *testing.T) *harness {
	return newHarnessWith(t, options{startPusher: true})
}

func newHarnessWith(t *testing.T, o options) *harness {
	t.Helper()
	st, err := embedded.Open(embedded.Config{Dir: t.TempDir(), SweepInterval: -1}, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	gen, err := ids.NewGenerator(1)
	if err != nil {
		t.Fatal(err)
	}
	if o.pushQueue == 0 {
		o.pushQueue = 1024
	}
	h := &harness{t: t, ctx: context.Background(), store: st, gen: gen, router: &recordingRouter{},
		users: &usersStub{known: map[ids.ID]bool{alice: true, bob: true, carol: true, dave: true}},
		reg:   prometheus.NewRegistry(), limits: protocol.DefaultLimits()}
	var uses store.Store = st
	if o.faults {
		h.faults = &faultyStore{Store: st, before: map[string]int{}, after: map[string]int{}}
		uses = h.faults
	}
	h.pusher = usecase.NewPusher(h.router, o.pushQueue, time.Second, discard, h.reg)
	h.access = usecase.NewAccess(h.users, o.groups)
	h.send = usecase.NewSendMessage(uses, h.access, gen, h.pusher)
	h.sync = usecase.NewSync(uses, h.limits)
	h.history = usecase.NewHistory(uses, h.access, h.limits)
	h.typing = usecase.NewTyping(h.access, h.pusher)
	h.receipts = usecase.NewReceipts(uses, h.access, gen, h.pusher)
	h.convs = usecase.NewConversations(uses, h.receipts)
	h.groupsPort, h.pointerMax = o.groups, o.pointerMax
	if o.groups != nil {
		h.send.SetGroupFanout(usecase.GroupFanout{PointerMax: o.pointerMax})
		h.sync.SetGroups(o.groups, h.access)
		h.convs.SetGroups(o.groups)
		h.receipts.SetGroupReceipts(usecase.GroupReceiptsConfig{Window: 5 * time.Millisecond, ReadersMax: 4, Logger: discard})
	}
	h.stopPusher = func() {}
	if o.startPusher {
		h.startPusher()
	}
	return h
}

// startPusher runs the pusher with one worker, so pushes reach the router
// in the order they were queued (flush relies on it).
func (h *harness) startPusher() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.pusher.Run(ctx, 1)
	}()
	h.stopPusher = func() { cancel(); <-done }
	h.t.Cleanup(h.stopPusher)
}

// flush waits until everything pushed so far has reached the router and
// returns the items that arrived since the previous flush (without the
// flush marker). With one worker the queue is FIFO, so once the marker is
// delivered everything queued before it was delivered too.
func (h *harness) flush() []routerapi.DeliveryItem {
	h.t.Helper()
	marker := &protocol.TypingState{ConversationID: "g:1", UserID: protocol.UserID(sentinel), Active: false}
	h.pusher.Frame(marker, []ids.ID{sentinel})
	deadline := time.Now().Add(5 * time.Second)
	for {
		items := h.router.snapshot()
		if i := slices.IndexFunc(items[h.seen:], func(it routerapi.DeliveryItem) bool {
			return len(it.Users) == 1 && it.Users[0] == sentinel
		}); i >= 0 {
			out := items[h.seen : h.seen+i]
			h.seen += i + 1
			return out
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("pushes did not reach the router within 5s (%d items so far)", len(items))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (h *harness) reqID() string {
	h.reqN++
	return fmt.Sprintf("r%d", h.reqN)
}

// sendAs sends body from user's device to conv and fails the test on error.
func (h *harness) sendAs(user ids.ID, device string, conv protocol.ConversationID, clientID, body string) *protocol.Ack {
	h.t.Helper()
	ack, err := h.trySend(user, device, conv, clientID, body)
	if err != nil {
		h.t.Fatalf("send %s from %d/%s: %v", clientID, user, device, err)
	}
	return ack
}

func (h *harness) trySend(user ids.ID, device string, conv protocol.ConversationID, clientID, body string) (*protocol.Ack, error) {
	f := &protocol.Send{Header: protocol.Header{ID: "s-" + clientID}, ConversationID: conv, ClientMsgID: clientID, Body: body}
	if err := f.Validate(h.limits); err != nil {
		h.t.Fatalf("test built an invalid send frame: %v", err)
	}
	return h.send.Send(h.ctx, usecase.Sender{UserID: user, DeviceID: device}, f)
}

// inbox returns every live inbox entry of user.
func (h *harness) inbox(user ids.ID) []entity.InboxEntry {
	h.t.Helper()
	entries, more, err := h.store.ReadAfter(h.ctx, user, 0, 100_000)
	if err != nil || more {
		h.t.Fatalf("read inbox of %d: more=%v err=%v", user, more, err)
	}
	return entries
}

func messageEntries(entries []entity.InboxEntry) []entity.InboxEntry {
	var out []entity.InboxEntry
	for _, e := range entries {
		if e.Kind == entity.InboxMessage {
			out = append(out, e)
		}
	}
	return out
}

// messages returns every stored message of conv, ascending.
func (h *harness) messages(conv protocol.ConversationID) []entity.Message {
	h.t.Helper()
	page, more, err := h.store.History(h.ctx, conv, 0, 0, 100_000)
	if err != nil || more {
		h.t.Fatalf("history of %s: more=%v err=%v", conv, more, err)
	}
	return page
}

// conversations returns user's conversation list as stored.
func (h *harness) conversations(user ids.ID) []entity.ConversationSummary {
	h.t.Helper()
	rows, err := h.store.Conversations(h.ctx, user, 0, 1000)
	if err != nil {
		h.t.Fatal(err)
	}
	return rows
}

func hasConversation(rows []entity.ConversationSummary, conv protocol.ConversationID, last ids.ID) bool {
	return slices.ContainsFunc(rows, func(r entity.ConversationSummary) bool {
		return r.Conversation == conv && (last == 0 || r.LastMessageID == last)
	})
}

// syncPage runs one sync for user/device.
func (h *harness) syncPage(user ids.ID, device, cursor string, limit int) (*protocol.SyncPage, error) {
	f := &protocol.Sync{Header: protocol.Header{ID: h.reqID()}, Cursor: cursor, Limit: limit}
	return h.sync.Page(h.ctx, usecase.Sender{UserID: user, DeviceID: device}, f)
}

func (h *harness) mustSync(user ids.ID, device, cursor string, limit int) *protocol.SyncPage {
	h.t.Helper()
	p, err := h.syncPage(user, device, cursor, limit)
	if err != nil {
		h.t.Fatalf("sync %d/%s from %q: %v", user, device, cursor, err)
	}
	return p
}

// droppedPushes reads the pusher's dropped counter from its registry.
func (h *harness) droppedPushes() float64 {
	h.t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "messages_push_dropped_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	h.t.Fatal("messages_push_dropped_total not registered")
	return 0
}

// decodePush decodes a pushed frame.
func decodePush(t testing.TB, it routerapi.DeliveryItem) protocol.Frame {
	t.Helper()
	f, err := protocol.DecodeServerFrame(it.Frame)
	if err != nil {
		t.Fatalf("pushed frame %s: %v", it.Frame, err)
	}
	return f
}

// wantCode fails unless err carries code.
func wantCode(t testing.TB, err error, code errs.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	if got := errs.CodeOf(err); got != code {
		t.Fatalf("got error %v (code %s), want %s", err, got, code)
	}
}

func mustDecodeCursor(t testing.TB, c string) ids.ID {
	t.Helper()
	seq, err := usecase.DecodeCursor(c)
	if err != nil {
		t.Fatalf("cursor %q: %v", c, err)
	}
	return seq
}

var errRouterDown = errors.New("router down")
