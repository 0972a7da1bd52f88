// Package storetest is the contract every authsvc store adapter passes
// (embedded and Cassandra). It lives in a non-test file so each adapter's
// tests can run it. Cases create their own users and names, so adapters may
// hand every case the same store; signing keys are global to a store, so
// newStore must return a store with no signing keys for the key cases.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley/authsvc/internal/entity"
	"github.com/parleychat/parley/authsvc/internal/keyring"
	"github.com/parleychat/parley/authsvc/internal/usecase"
	"github.com/parleychat/parley/shared/ids"
)

// Store is everything an adapter implements.
type Store interface {
	usecase.Accounts
	usecase.Sessions
	keyring.Store
}

// Run runs the contract suite against the stores newStore returns.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	s := &suite{newStore: newStore}
	node, _ := ids.NewGenerator(int(randomByte())) // random node: runs sharing a keyspace never collide
	s.ids = node
	for _, c := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"CreatedAccountReadsBackByIDAndUsername", s.createdAccountReadsBack},
		{"UnknownAccountIsNotFound", s.unknownAccountIsNotFound},
		{"DuplicateUsernameIsTakenAndLeavesNothingVisible", s.duplicateUsernameIsTaken},
		{"ConcurrentRegistrationOfOneUsernameHasExactlyOneWinner", s.concurrentRegistration},
		{"SetPasswordHashAndRoles", s.setPasswordHashAndRoles},
		{"SetOnMissingAccountIsNotFoundAndCreatesNothing", s.setOnMissingAccount},
		{"StartSessionStoresDeviceAndToken", s.startSession},
		{"ConsumeRotatesTokenAndMarksDeviceSeen", s.consumeRotates},
		{"ConsumeTwiceIsReusedWithRecord", s.consumeTwiceIsReused},
		{"ConsumeUnknownIsNotFound", s.consumeUnknown},
		{"ConsumeExpiredIsExpiredAndChangesNothing", s.consumeExpired},
		{"ConsumeAfterSessionEndedIsRevoked", s.consumeAfterEnd},
		{"ConcurrentConsumeOfOneTokenHasExactlyOneWinner", s.concurrentConsume},
		{"NewSignInOnSameDeviceRevokesOldSession", s.newSignInRevokesOld},
		{"EndSessionWithStaleSessionIDKeepsNewerSession", s.endStaleSession},
		{"EndAllSessionsKeepsOnlyTheGivenDevice", s.endAllSessions},
		{"SigningKeysAddReadAndDelete", s.signingKeys},
		{"ConcurrentKeyRotationHasExactlyOneWinner", s.concurrentKeyRotation},
	} {
		t.Run(c.name, c.fn)
	}
}

type suite struct {
	newStore func(t *testing.T) Store
	ids      *ids.Generator
}

func randomByte() byte { var b [1]byte; _, _ = rand.Read(b[:]); return b[0] }

func unique(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// now is a millisecond-precision time, what every adapter keeps.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

func (s *suite) account(username string) entity.Account {
	t := now()
	return entity.Account{ID: s.ids.Next(), Username: username, DisplayName: "Name " + username,
		PasswordHash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA", CreatedAt: t, PasswordChangedAt: t}
}

func (s *suite) mustCreate(t *testing.T, st Store) entity.Account {
	t.Helper()
	a := s.account(unique("u"))
	if err := st.CreateAccount(context.Background(), a); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	return a
}

func equalAccounts(a, b entity.Account) bool {
	return a.ID == b.ID && a.Username == b.Username && a.DisplayName == b.DisplayName &&
		a.PasswordHash == b.PasswordHash && slices.Equal(a.Roles, b.Roles) &&
		a.CreatedAt.Equal(b.CreatedAt) && a.PasswordChangedAt.Equal(b.PasswordChangedAt)
}
