package cassandra

import (
	"context"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/parleychat/parley/messagesvc/internal/store"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
)

// ClaimSend implements store.Dedup with INSERT ... IF NOT EXISTS USING TTL
// at LOCAL_SERIAL: Paxos makes exactly one of any number of concurrent
// claims apply. The LWT is marked idempotent, unusually, because a claim
// whose stored owner is its own candidate is reported fresh: candidates are
// unique ids, so a retry of a claim that applied but timed out (by the
// driver or by the caller) still learns that it won.
func (s *Store) ClaimSend(ctx context.Context, sender ids.ID, clientMsgID string, candidate ids.ID) (ids.ID, bool, error) {
	if clientMsgID == "" || candidate <= 0 {
		return 0, false, errs.New(errs.InvalidArgument, "claim send: empty client message id or candidate")
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	existing := map[string]any{}
	applied, err := s.query(ctx, s.cql.claimSend, int64(sender), clientMsgID, int64(candidate),
		int(store.DedupTTL/time.Second)).SerialConsistency(gocql.LocalSerial).MapScanCAS(existing)
	if err != nil {
		return 0, false, storeErr("claim client message id", err)
	}
	if applied {
		return candidate, true, nil
	}
	owner, ok := existing["message_id"].(int64)
	if !ok || owner <= 0 {
		return 0, false, errs.New(errs.Internal, "claim send: existing claim without a message id")
	}
	return ids.ID(owner), ids.ID(owner) == candidate, nil
}
