package cassandra

import (
	"context"
	"errors"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
)

// Cursor implements store.Cursors.
func (s *Store) Cursor(ctx context.Context, user ids.ID, device string) (ids.ID, bool, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var seq int64
	err := s.query(ctx, s.cql.selectCursor, int64(user), device).Scan(&seq)
	if errors.Is(err, gocql.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, storeErr("read cursor", err)
	}
	return ids.ID(seq), true, nil
}

// AdvanceCursor implements store.Cursors with one blind write whose write
// time rises with seq: a lower seq, late or concurrent, loses to a higher
// one already written or written later. No read, no LWT.
func (s *Store) AdvanceCursor(ctx context.Context, user ids.ID, device string, seq ids.ID) error {
	if seq <= 0 || device == "" {
		return errs.New(errs.InvalidArgument, "advance cursor: want a device and a positive seq")
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	err := s.query(ctx, s.cql.setCursor, int64(user), device, int64(seq), risingMicros(seq)).Exec()
	return storeErr("write cursor", err)
}
