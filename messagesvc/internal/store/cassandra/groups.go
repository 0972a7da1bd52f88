package cassandra

import (
	"context"
	"errors"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// The group statements. Their text is constant per keyspace, so the driver
// prepares each once (gq fills the keyspace in).
const (
	cqlTouchGroup       = `UPDATE {keyspace}.group_heads USING TIMESTAMP ? SET last_message_id = ? WHERE conversation_id = ?`
	cqlTouchGroupPulled = `UPDATE {keyspace}.group_heads USING TIMESTAMP ? SET last_message_id = ?, last_pull_id = ? WHERE conversation_id = ?`
	cqlSelectGroupHeads = `SELECT conversation_id, last_message_id, last_pull_id FROM {keyspace}.group_heads WHERE conversation_id IN ?`

	cqlSelectMember   = `SELECT received_up_to, read_up_to FROM {keyspace}.group_member_state WHERE conversation_id = ? AND user_id = ?`
	cqlSetMemberRecv  = `UPDATE {keyspace}.group_member_state USING TIMESTAMP ? SET received_up_to = ?, received_at = ? WHERE conversation_id = ? AND user_id = ?`
	cqlSetMemberRead  = `UPDATE {keyspace}.group_member_state USING TIMESTAMP ? SET read_up_to = ?, read_at = ? WHERE conversation_id = ? AND user_id = ?`
	cqlSelectMembers  = `SELECT user_id, received_up_to, received_at, read_up_to, read_at FROM {keyspace}.group_member_state WHERE conversation_id = ?`
	maxHeadsPerSelect = 100
)

func (s *Store) gq(stmt string) string { return strings.ReplaceAll(stmt, "{keyspace}", s.keyspace) }

// TouchGroup implements store.Groups with one blind write whose write time
// rises with the id: a late lower id loses on every replica. A pulled
// message raises both columns in the same statement (same id, same time).
func (s *Store) TouchGroup(ctx context.Context, conv protocol.ConversationID, lastMsgID ids.ID, pulled bool) error {
	if lastMsgID <= 0 {
		return errs.New(errs.InvalidArgument, "touch group: want a positive message id")
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	var q *gocql.Query
	if pulled {
		q = s.query(ctx, s.gq(cqlTouchGroupPulled), risingMicros(lastMsgID), int64(lastMsgID), int64(lastMsgID), string(conv))
	} else {
		q = s.query(ctx, s.gq(cqlTouchGroup), risingMicros(lastMsgID), int64(lastMsgID), string(conv))
	}
	return storeErr("touch group", q.Exec())
}

// GroupHeads implements store.Groups with IN queries of up to 100
// partitions (a user's groups; a read, never on the send path).
func (s *Store) GroupHeads(ctx context.Context, convs []protocol.ConversationID) (map[protocol.ConversationID]entity.GroupHead, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	out := make(map[protocol.ConversationID]entity.GroupHead, len(convs))
	for start := 0; start < len(convs); start += maxHeadsPerSelect {
		chunk := make([]string, 0, maxHeadsPerSelect)
		for _, c := range convs[start:min(len(convs), start+maxHeadsPerSelect)] {
			chunk = append(chunk, string(c))
		}
		sc := s.query(ctx, s.gq(cqlSelectGroupHeads), chunk).Iter().Scanner()
		for sc.Next() {
			var conv string
			var last, pull *int64
			if err := sc.Scan(&conv, &last, &pull); err != nil {
				return nil, storeErr("read group heads", err)
			}
			out[protocol.ConversationID(conv)] = entity.GroupHead{LastMessageID: ids.ID(deref(last)), LastPullID: ids.ID(deref(pull))}
		}
		if err := sc.Err(); err != nil {
			return nil, storeErr("read group heads", err)
		}
	}
	return out, nil
}

func deref(v *int64) int64 {
	if v == nil {
		return 0
	}
	return *v
}

// AdvanceMember implements store.Groups without LWT, like AdvanceRead: read
// the watermark; if upTo is not above it nothing changes, else write it
// with a write time rising with upTo, so racing writes end at the highest.
// Two racing calls may both report moved: a duplicate count push, never a
// watermark moved backwards.
func (s *Store) AdvanceMember(ctx context.Context, conv protocol.ConversationID, user ids.ID, mark entity.MemberMark, upTo ids.ID, at time.Time) (bool, error) {
	if upTo <= 0 || (mark != entity.MarkReceived && mark != entity.MarkRead) {
		return false, errs.New(errs.InvalidArgument, "advance member: want a positive message id and a known mark")
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	var recv, read *int64
	err := s.query(ctx, s.gq(cqlSelectMember), string(conv), int64(user)).Scan(&recv, &read)
	if err != nil && !errors.Is(err, gocql.ErrNotFound) {
		return false, storeErr("read member state", err)
	}
	cur, stmt := deref(recv), cqlSetMemberRecv
	if mark == entity.MarkRead {
		cur, stmt = deref(read), cqlSetMemberRead
	}
	if int64(upTo) <= cur {
		return false, nil
	}
	err = s.query(ctx, s.gq(stmt), risingMicros(upTo), int64(upTo), millis(at), string(conv), int64(user)).Exec()
	if err != nil {
		return false, storeErr("write member state", err)
	}
	return true, nil
}

// MemberStates implements store.Groups: one partition, paged by the driver.
func (s *Store) MemberStates(ctx context.Context, conv protocol.ConversationID) ([]entity.MemberState, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	sc := s.query(ctx, s.gq(cqlSelectMembers), string(conv)).Iter().Scanner()
	var out []entity.MemberState
	for sc.Next() {
		var user int64
		var recv, read *int64
		var recvAt, readAt *time.Time
		if err := sc.Scan(&user, &recv, &recvAt, &read, &readAt); err != nil {
			return nil, storeErr("read member states", err)
		}
		st := entity.MemberState{UserID: ids.ID(user)}
		if deref(recv) > 0 && recvAt != nil {
			st.Received = entity.Watermark{UpTo: ids.ID(*recv), At: recvAt.UTC()}
		}
		if deref(read) > 0 && readAt != nil {
			st.Read = entity.Watermark{UpTo: ids.ID(*read), At: readAt.UTC()}
		}
		out = append(out, st)
	}
	if err := sc.Err(); err != nil {
		return nil, storeErr("read member states", err)
	}
	return out, nil
}
