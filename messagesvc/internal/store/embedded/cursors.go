package embedded

import (
	"context"

	bolt "go.etcd.io/bbolt"

	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
)

// Cursor implements store.Cursors.
func (s *Store) Cursor(ctx context.Context, user ids.ID, device string) (ids.ID, bool, error) {
	var seq ids.ID
	var ok bool
	err := s.view(ctx, "read cursor", func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketCursors).Get(key(be64(int64(user)), []byte(device))); len(v) == 8 {
			seq, ok = ids.ID(get64(v)), true
		}
		return nil
	})
	return seq, ok, err
}

// AdvanceCursor implements store.Cursors: read and raise in one transaction.
func (s *Store) AdvanceCursor(ctx context.Context, user ids.ID, device string, seq ids.ID) error {
	if seq <= 0 || device == "" {
		return errs.New(errs.InvalidArgument, "advance cursor: want a device and a positive seq")
	}
	k := key(be64(int64(user)), []byte(device))
	return s.write(ctx, "write cursor", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCursors)
		if v := b.Get(k); len(v) == 8 && get64(v) >= int64(seq) {
			return nil
		}
		return b.Put(k, be64(int64(seq)))
	})
}
