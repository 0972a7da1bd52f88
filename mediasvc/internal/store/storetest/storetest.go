// Package storetest is the contract every mediasvc metadata store adapter
// passes (embedded and Cassandra). It lives in a non-test file so each
// adapter's tests can run it. Cases use fresh media ids, random hashes and
// their own time windows, so adapters may share one keyspace; the
// checkpoint and the limits are per store, so newStore must return a store
// of its own (or its own scope) for every case.
package storetest

import (
	"crypto/rand"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/mediasvc/internal/usecase"
	"github.com/parleychat/parley/shared/ids"
)

// Store is everything an adapter implements.
type Store interface {
	usecase.MediaStore
	usecase.BlobStore
	usecase.CheckSchedule
	usecase.LimitStore
}

// Run runs the contract suite against the stores newStore returns.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	var b [1]byte
	_, _ = rand.Read(b[:])
	gen, _ := ids.NewGenerator(int(b[0])) // random node: runs sharing a keyspace never collide
	s := &suite{newStore: newStore, ids: gen}
	for _, c := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"CreatedMediaReadsBackWithItsChecks", s.createdMediaReadsBack},
		{"CreateTwiceIsExistsAndKeepsTheFirst", s.createTwice},
		{"UnknownMediaIsNotFound", s.unknownMedia},
		{"ClaimContentOnceWhilePending", s.claimContent},
		{"CompleteCreatesTheBlobAndFinalizes", s.completeCreates},
		{"CompleteReferencesAnExistingBlob", s.completeReferences},
		{"CompleteWithoutCandidateNeedsTheBlob", s.completeNeedsBlob},
		{"CompleteTwiceIsConflict", s.completeTwice},
		{"CompleteOfDeletedMediaIsConflictAndReferencesNothing", s.completeDeleted},
		{"ConcurrentCompletesOfOneMediaHaveExactlyOneWinner", s.concurrentComplete},
		{"ConcurrentBlobCreatorsHaveExactlyOneWinner", s.concurrentBlobCreators},
		{"AttachAndDetachAreIdempotentAndNeedFinalized", s.attachDetach},
		{"MarkDeletedNeedsTheStateAndNoAttachments", s.markDeleted},
		{"ConcurrentAttachAndDeleteNeverBothWin", s.attachVersusDelete},
		{"PurgeRemovesOnlyDeletedMedia", s.purge},
		{"RemoveBlobRefIsIdempotent", s.removeBlobRef},
		{"BlobDeletionBlocksNewReferencesAndResumes", s.blobDeletion},
		{"ConcurrentReferenceAndBeginDeleteNeverBothWin", s.referenceVersusDelete},
		{"DueChecksReturnsTheWindowOnce", s.dueChecks},
		{"CheckpointRoundTrips", s.checkpoint},
		{"LimitsRoundTripAndReplace", s.limits},
	} {
		t.Run(c.name, c.fn)
	}
}

type suite struct {
	newStore func(t *testing.T) Store
	ids      *ids.Generator
}

// now is a millisecond-precision time, what every adapter keeps.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

func randomSHA() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *suite) pending(owner ids.ID) entity.Media {
	return entity.Media{ID: s.ids.Next(), OwnerID: owner, State: entity.StatePending, Name: "photo.png",
		DeclaredSize: 1234, DeclaredSHA256: randomSHA(), CreatedAt: now()}
}

func (s *suite) blob(sha string, creator ids.ID) entity.Blob {
	return entity.Blob{SHA256: sha, State: entity.BlobLive, ObjectKey: entity.ObjectKey(creator),
		ThumbnailKey: entity.ThumbnailKey(creator), Size: 1234, Mime: "image/png", Width: 640, Height: 480, CreatedAt: now()}
}

func equalMedia(a, b entity.Media) bool {
	return a.ID == b.ID && a.OwnerID == b.OwnerID && a.State == b.State && a.Name == b.Name &&
		a.DeclaredSize == b.DeclaredSize && a.DeclaredSHA256 == b.DeclaredSHA256 && a.SHA256 == b.SHA256 &&
		a.Size == b.Size && a.Mime == b.Mime && a.Width == b.Width && a.Height == b.Height &&
		a.ContentKey == b.ContentKey && a.ThumbnailKey == b.ThumbnailKey && a.CreatedAt.Equal(b.CreatedAt) &&
		a.FinalizedAt.Equal(b.FinalizedAt) && a.DeletedAt.Equal(b.DeletedAt) && slices.Equal(a.Attachments, b.Attachments)
}

func equalBlob(a, b entity.Blob) bool {
	return a.SHA256 == b.SHA256 && a.State == b.State && a.ObjectKey == b.ObjectKey && a.ThumbnailKey == b.ThumbnailKey &&
		a.Size == b.Size && a.Mime == b.Mime && a.Width == b.Width && a.Height == b.Height &&
		a.CreatedAt.Equal(b.CreatedAt) && slices.Equal(a.Refs, b.Refs)
}
