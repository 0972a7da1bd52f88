package cassandra

import (
	"context"
	"errors"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/parleychat/parley/messagesvc/internal/entity"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/protocol"
)

// MarkReceived implements store.Receipts without LWT. Per bucket of the
// ids: read which of them the user already has (one IN query), write the
// others in one single-partition batch with a falling write time, and read
// them back. A repeated or late ack finds its rows and writes nothing, so a
// recorded time never moves. When acks race (both read "absent"), the
// falling write time makes the earliest ack's time win on every replica,
// and a call reports an id newly received iff the time read back is its
// own. Two racing calls can both report an id only if one read back before
// the other's earlier time landed, or both carry the same millisecond: a
// duplicate receipt push, never a moved or lost time. An LWT per
// (message, recipient) would make the report exact at several times the
// cost on the hottest write path after send.
func (s *Store) MarkReceived(ctx context.Context, conv protocol.ConversationID, user ids.ID, msgIDs []ids.ID, at time.Time) ([]ids.ID, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	at = millis(at)
	var newly []ids.ID
	for b, inBucket := range byBucket(msgIDs) {
		known, err := s.receivedIn(ctx, conv, b, user, inBucket)
		if err != nil {
			return nil, err
		}
		batch := s.batch(ctx)
		var fresh []int64
		for _, id := range inBucket {
			if _, ok := known[id]; !ok {
				fresh = append(fresh, id)
				batch.Entries = append(batch.Entries, gocql.BatchEntry{Stmt: s.cql.insertReceived,
					Args: []any{string(conv), b, id, int64(user), at, fallingMicros(at)}, Idempotent: true})
			}
		}
		if len(fresh) == 0 {
			continue
		}
		if err := batch.Exec(); err != nil {
			return nil, storeErr("write received times", err)
		}
		stored, err := s.receivedIn(ctx, conv, b, user, fresh)
		if err != nil {
			return nil, err
		}
		for _, id := range fresh {
			if t, ok := stored[id]; ok && t.Equal(at) {
				newly = append(newly, ids.ID(id))
			}
		}
	}
	return newly, nil
}

// receivedIn returns the stored received times of user for msgIDs (all in
// bucket b).
func (s *Store) receivedIn(ctx context.Context, conv protocol.ConversationID, b int32, user ids.ID, msgIDs []int64) (map[int64]time.Time, error) {
	sc := s.query(ctx, s.cql.selectReceived, string(conv), b, msgIDs, int64(user)).Iter().Scanner()
	out := map[int64]time.Time{}
	for sc.Next() {
		var id int64
		var at time.Time
		if err := sc.Scan(&id, &at); err != nil {
			return nil, storeErr("read received times", err)
		}
		out[id] = at.UTC()
	}
	if err := sc.Err(); err != nil {
		return nil, storeErr("read received times", err)
	}
	return out, nil
}

// AdvanceRead implements store.Receipts without LWT: read the watermark;
// if upTo is not above it, nothing changes. Otherwise write it with a write
// time rising with upTo (a lower write, late or concurrent, always loses)
// and read it back: moved is true iff the stored watermark is this call's.
// Racing calls end at the highest upTo; each reports the watermark it read
// back (at least its own upTo). Two racing calls may both report moved when
// each read back its own value before the other's write landed — both did
// move it, in turn — and two calls with the same upTo and millisecond both
// report moved. A same-upTo race with different times settles on the later
// time (Cassandra keeps the larger cell on equal write times).
func (s *Store) AdvanceRead(ctx context.Context, user ids.ID, conv protocol.ConversationID, upTo ids.ID, at time.Time) (entity.Watermark, bool, error) {
	if upTo <= 0 {
		return entity.Watermark{}, false, errs.New(errs.InvalidArgument, "advance read: want a positive message id")
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	cur, err := s.readWatermark(ctx, user, conv)
	if err != nil || upTo <= cur.UpTo {
		return cur, false, err
	}
	at = millis(at)
	if err := s.query(ctx, s.cql.setWatermark, int64(user), string(conv), int64(upTo), at, risingMicros(upTo)).Exec(); err != nil {
		return entity.Watermark{}, false, storeErr("write read watermark", err)
	}
	after, err := s.readWatermark(ctx, user, conv)
	if err != nil {
		return entity.Watermark{}, false, err
	}
	return after, after.UpTo == upTo && after.At.Equal(at), nil
}

// ReadWatermark implements store.Receipts.
func (s *Store) ReadWatermark(ctx context.Context, user ids.ID, conv protocol.ConversationID) (entity.Watermark, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	return s.readWatermark(ctx, user, conv)
}

func (s *Store) readWatermark(ctx context.Context, user ids.ID, conv protocol.ConversationID) (entity.Watermark, error) {
	var upTo int64
	var at time.Time
	err := s.query(ctx, s.cql.selectWatermark, int64(user), string(conv)).Scan(&upTo, &at)
	if errors.Is(err, gocql.ErrNotFound) {
		return entity.Watermark{}, nil
	}
	if err != nil {
		return entity.Watermark{}, storeErr("read read watermark", err)
	}
	return entity.Watermark{UpTo: ids.ID(upTo), At: at.UTC()}, nil
}

// Deliveries implements store.Receipts: the receipt rows of msgIDs (one IN
// query per bucket), then each recipient's watermark in conv once.
func (s *Store) Deliveries(ctx context.Context, conv protocol.ConversationID, msgIDs []ids.ID) ([]entity.Delivery, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var out []entity.Delivery
	for b, inBucket := range byBucket(msgIDs) {
		sc := s.query(ctx, s.cql.selectReceipts, string(conv), b, inBucket).Iter().Scanner()
		for sc.Next() {
			var msg, user int64
			var at time.Time
			if err := sc.Scan(&msg, &user, &at); err != nil {
				return nil, storeErr("read receipts", err)
			}
			out = append(out, entity.Delivery{MessageID: ids.ID(msg), UserID: ids.ID(user), ReceivedAt: at.UTC()})
		}
		if err := sc.Err(); err != nil {
			return nil, storeErr("read receipts", err)
		}
	}
	marks := map[ids.ID]entity.Watermark{}
	for i, d := range out {
		wm, ok := marks[d.UserID]
		if !ok {
			var err error
			if wm, err = s.readWatermark(ctx, d.UserID, conv); err != nil {
				return nil, err
			}
			marks[d.UserID] = wm
		}
		if wm.UpTo >= d.MessageID {
			out[i].ReadAt = wm.At
		}
	}
	return out, nil
}
