package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/authsvc/internal/entity"
)

func (s *suite) createdAccountReadsBack(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	a := s.account(unique("u"))
	a.Roles = []string{entity.RoleAdmin}
	if err := st.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	byID, err := st.AccountByID(ctx, a.ID)
	if err != nil || !equalAccounts(byID, a) {
		t.Fatalf("AccountByID = %+v, %v; want %+v", byID, err, a)
	}
	byName, err := st.AccountByUsername(ctx, a.Username)
	if err != nil || !equalAccounts(byName, a) {
		t.Fatalf("AccountByUsername = %+v, %v", byName, err)
	}
}

func (s *suite) unknownAccountIsNotFound(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	if _, err := st.AccountByID(ctx, s.ids.Next()); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("AccountByID unknown: %v", err)
	}
	if _, err := st.AccountByUsername(ctx, unique("nobody")); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("AccountByUsername unknown: %v", err)
	}
}

func (s *suite) duplicateUsernameIsTaken(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	first := s.mustCreate(t, st)
	second := s.account(first.Username)
	if err := st.CreateAccount(ctx, second); !errors.Is(err, entity.ErrUsernameTaken) {
		t.Fatalf("duplicate: %v, want ErrUsernameTaken", err)
	}
	if _, err := st.AccountByID(ctx, second.ID); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("loser's account visible: %v", err)
	}
	if got, _ := st.AccountByUsername(ctx, first.Username); got.ID != first.ID {
		t.Fatalf("username now owned by %d, want %d", got.ID, first.ID)
	}
}

func (s *suite) concurrentRegistration(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	name := unique("race")
	const n = 20
	accounts := make([]entity.Account, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		accounts[i] = s.account(name)
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = st.CreateAccount(ctx, accounts[i]) }()
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("two winners: %d and %d", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, entity.ErrUsernameTaken):
			t.Fatalf("registration %d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no winner")
	}
	if got, err := st.AccountByUsername(ctx, name); err != nil || got.ID != accounts[winner].ID {
		t.Fatalf("username resolves to %+v, %v; want the winner %d", got, err, accounts[winner].ID)
	}
	for i, a := range accounts {
		if _, err := st.AccountByID(ctx, a.ID); i != winner && !errors.Is(err, entity.ErrNotFound) {
			t.Fatalf("loser %d left a visible account: %v", i, err)
		}
	}
}

func (s *suite) setPasswordHashAndRoles(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	a := s.mustCreate(t, st)
	changed := now().Add(time.Second)
	if err := st.SetPasswordHash(ctx, a.ID, "$argon2id$new", changed); err != nil {
		t.Fatal(err)
	}
	if err := st.SetRoles(ctx, a.ID, []string{entity.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	got, _ := st.AccountByID(ctx, a.ID)
	if got.PasswordHash != "$argon2id$new" || !got.PasswordChangedAt.Equal(changed) || !got.HasRole(entity.RoleAdmin) {
		t.Fatalf("after updates: %+v", got)
	}
	if err := st.SetRoles(ctx, a.ID, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.AccountByID(ctx, a.ID); len(got.Roles) != 0 || got.Username != a.Username {
		t.Fatalf("after clearing roles: %+v", got)
	}
}

func (s *suite) setOnMissingAccount(t *testing.T) {
	st, ctx := s.newStore(t), context.Background()
	id := s.ids.Next()
	if err := st.SetRoles(ctx, id, []string{entity.RoleAdmin}); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("SetRoles missing: %v", err)
	}
	if err := st.SetPasswordHash(ctx, id, "x", now()); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("SetPasswordHash missing: %v", err)
	}
	if _, err := st.AccountByID(ctx, id); !errors.Is(err, entity.ErrNotFound) {
		t.Fatalf("an update created a row: %v", err)
	}
}
