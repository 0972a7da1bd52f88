package embedded

import (
	"context"

	bolt "go.etcd.io/bbolt"

	"github.com/parleychat/parley/messagesvc/internal/store"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
)

// ClaimSend implements store.Dedup in one transaction: concurrent claims
// are serialized by bbolt's single writer, so exactly one finds the key
// free. A claim whose stored owner is its own candidate is reported fresh
// (candidates are unique ids: it is a retry of the winning call). A claim
// older than DedupTTL counts as free; the sweeper deletes it later.
func (s *Store) ClaimSend(ctx context.Context, sender ids.ID, clientMsgID string, candidate ids.ID) (ids.ID, bool, error) {
	if clientMsgID == "" || candidate <= 0 {
		return 0, false, errs.New(errs.InvalidArgument, "claim send: empty client message id or candidate")
	}
	k := key(be64(int64(sender)), []byte(clientMsgID))
	var owner ids.ID
	err := s.write(ctx, "claim client message id", func(tx *bolt.Tx) error {
		now := s.now().UnixMilli()
		claims := tx.Bucket(bucketDedup)
		if v := claims.Get(k); len(v) == 16 {
			if get64(v[8:]) > now {
				owner = ids.ID(get64(v[:8]))
				return nil
			}
			if err := tx.Bucket(bucketDedupExpiry).Delete(key(v[8:], k)); err != nil {
				return err
			}
		}
		owner = candidate
		expires := be64(now + store.DedupTTL.Milliseconds())
		if err := claims.Put(k, key(be64(int64(candidate)), expires)); err != nil {
			return err
		}
		return tx.Bucket(bucketDedupExpiry).Put(key(expires, k), nil)
	})
	if err != nil {
		return 0, false, err
	}
	return owner, owner == candidate, nil
}
