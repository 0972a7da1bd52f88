// Package keyring keeps authsvc's Ed25519 signing keys: it signs access
// tokens with the current key, publishes every live key as a JWKS, rotates
// keys on a schedule or on demand, and retires keys once the tokens they
// signed have expired.
//
// The keys live in the store, so they survive restarts and every replica
// shares them. Each replica reloads them every Reload. A new key is published
// ActivationDelay before it signs anything, so verifiers (which refetch the
// JWKS on an unknown kid at most every few seconds) and lagging replicas know
// it before the first token carries its kid; a replaced key stays published
// until AccessTTL + Reload + a minute after its successor activated, so
// rotation never logs anybody out. Replicas race to rotate safely: the store
// adds a key only if the newest key is still the one the replica saw.
package keyring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley/authsvc/internal/entity"
	"github.com/parleychat/parley/shared/authtoken"
	"github.com/parleychat/parley/shared/errs"
)

// Store persists signing keys. Implementations are safe for concurrent use.
type Store interface {
	// SigningKeys returns every stored key and the kid of the newest one,
	// the head ("" when there is none).
	SigningKeys(ctx context.Context) (head string, keys []entity.SigningKey, err error)
	// AddSigningKey stores key as the new head only if the head is still
	// expectedHead ("" for the first key); otherwise it stores nothing and
	// returns entity.ErrConflict. Of concurrent callers with the same
	// expectedHead exactly one succeeds.
	AddSigningKey(ctx context.Context, expectedHead string, key entity.SigningKey) error
	// DeleteSigningKey removes a retired key; a missing key is not an error.
	DeleteSigningKey(ctx context.Context, kid string) error
}

// Config sets the rotation schedule.
type Config struct {
	Rotation        time.Duration // a key older than this is replaced
	Reload          time.Duration // how often each replica reloads the keys
	ActivationDelay time.Duration // how long a new key is published before it signs
	AccessTTL       time.Duration // lifetime of the tokens the keys sign
}

// retireMargin is added to AccessTTL + Reload before a replaced key is deleted:
// it absorbs clock skew between replicas and the verifiers' leeway.
const retireMargin = time.Minute

// Ring is the in-memory view of the signing keys. It is safe for concurrent use.
type Ring struct {
	cfg    Config
	store  Store
	now    func() time.Time
	logger *slog.Logger
	snap   atomic.Pointer[snapshot]
}

type snapshot struct {
	keys []entity.SigningKey // oldest activation first
	jwks authtoken.JWKSet
}

// New returns a ring over store; call Sync before use.
func New(cfg Config, store Store, logger *slog.Logger, now func() time.Time) *Ring {
	r := &Ring{cfg: cfg, store: store, now: now, logger: logger}
	r.snap.Store(&snapshot{jwks: authtoken.JWKSet{Keys: []authtoken.JWK{}}})
	return r
}

// Sync reloads the keys from the store and does whatever is due: create the
// first key, rotate an old head, delete retired keys.
func (r *Ring) Sync(ctx context.Context) error {
	head, keys, err := r.store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	now := r.now()
	headKey, found := find(keys, head)
	switch {
	case !found:
		// The first key signs at once: no verifier can know any key yet, so
		// there is nothing to wait for.
		return r.addAndReload(ctx, head, entity.NewSigningKey(truncate(now), truncate(now)))
	case !now.Before(headKey.ActivatesAt.Add(r.cfg.Rotation)):
		r.logger.Info("rotating signing key on schedule", slog.String("old_kid", head))
		return r.addAndReload(ctx, head, r.newKey(now))
	}
	live, err := r.retire(ctx, head, keys, now)
	if err != nil {
		return err
	}
	r.install(head, live)
	return nil
}

// Rotate adds a new key now; it signs after the activation delay.
func (r *Ring) Rotate(ctx context.Context) (entity.SigningKey, error) {
	for range 3 {
		head, _, err := r.store.SigningKeys(ctx)
		if err != nil {
			return entity.SigningKey{}, fmt.Errorf("load signing keys: %w", err)
		}
		k := r.newKey(r.now())
		err = r.store.AddSigningKey(ctx, head, k)
		if errors.Is(err, entity.ErrConflict) {
			continue // another replica rotated at the same moment; try on top of its key
		}
		if err != nil {
			return entity.SigningKey{}, err
		}
		r.logger.Info("signing key rotated", slog.String("kid", k.ID), slog.Time("activates_at", k.ActivatesAt))
		return k, r.Sync(ctx)
	}
	return entity.SigningKey{}, errs.New(errs.Unavailable, "key rotation kept conflicting, try again")
}

// Run calls Sync every Reload until ctx ends, logging failures: the ring
// keeps signing with the keys it has while the store is unreachable.
func (r *Ring) Run(ctx context.Context) {
	t := time.NewTicker(r.cfg.Reload)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.Sync(ctx); err != nil && ctx.Err() == nil {
				r.logger.Warn("signing key sync failed", slog.Any("err", err))
			}
		}
	}
}

// Current returns the key that signs now: the newest key already activated.
func (r *Ring) Current() (entity.SigningKey, bool) {
	s := r.snap.Load()
	now := r.now()
	for i := len(s.keys) - 1; i >= 0; i-- {
		if !s.keys[i].ActivatesAt.After(now) {
			return s.keys[i], true
		}
	}
	return entity.SigningKey{}, false
}

// Sign signs an access token with the current key.
func (r *Ring) Sign(g authtoken.Grant) (string, authtoken.Claims, error) {
	k, ok := r.Current()
	if !ok {
		return "", authtoken.Claims{}, errs.New(errs.Unavailable, "no signing key yet, try again")
	}
	return authtoken.Sign(k.ID, k.Private, g)
}

// JWKS returns every published key: pending, current and not yet retired.
func (r *Ring) JWKS() authtoken.JWKSet { return r.snap.Load().jwks }

// Ready fails until the ring has a key to sign with.
func (r *Ring) Ready(context.Context) error {
	if _, ok := r.Current(); !ok {
		return errors.New("no active signing key")
	}
	return nil
}

func (r *Ring) newKey(now time.Time) entity.SigningKey {
	return entity.NewSigningKey(truncate(now), truncate(now.Add(r.cfg.ActivationDelay)))
}

func (r *Ring) addAndReload(ctx context.Context, head string, k entity.SigningKey) error {
	err := r.store.AddSigningKey(ctx, head, k)
	if err != nil && !errors.Is(err, entity.ErrConflict) {
		return fmt.Errorf("add signing key: %w", err)
	}
	// On a conflict another replica added a key; either way, load what won.
	head, keys, err := r.store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	r.install(head, keys)
	return nil
}

// retire deletes every key whose successor activated long enough ago that
// no token it signed can still be valid, and returns the keys left. The head
// is never deleted.
func (r *Ring) retire(ctx context.Context, head string, keys []entity.SigningKey, now time.Time) ([]entity.SigningKey, error) {
	ordered := order(head, keys)
	keep := r.cfg.AccessTTL + r.cfg.Reload + retireMargin
	live := ordered[:0:0]
	for i, k := range ordered {
		if i+1 < len(ordered) && now.After(ordered[i+1].ActivatesAt.Add(keep)) {
			if err := r.store.DeleteSigningKey(ctx, k.ID); err != nil {
				return nil, fmt.Errorf("delete retired key: %w", err)
			}
			r.logger.Info("signing key retired", slog.String("kid", k.ID))
			continue
		}
		live = append(live, k)
	}
	return live, nil
}

func (r *Ring) install(head string, keys []entity.SigningKey) {
	ordered := order(head, keys)
	set := authtoken.JWKSet{Keys: make([]authtoken.JWK, 0, len(ordered))}
	for _, k := range ordered {
		set.Keys = append(set.Keys, authtoken.PublicJWK(k.ID, k.Public()))
	}
	r.snap.Store(&snapshot{keys: ordered, jwks: set})
}

// order sorts keys by activation, the head last among equals.
func order(head string, keys []entity.SigningKey) []entity.SigningKey {
	out := slices.Clone(keys)
	slices.SortStableFunc(out, func(a, b entity.SigningKey) int {
		if c := a.ActivatesAt.Compare(b.ActivatesAt); c != 0 {
			return c
		}
		switch {
		case a.ID == head:
			return 1
		case b.ID == head:
			return -1
		}
		return a.CreatedAt.Compare(b.CreatedAt)
	})
	return out
}

func find(keys []entity.SigningKey, kid string) (entity.SigningKey, bool) {
	for _, k := range keys {
		if k.ID == kid {
			return k, true
		}
	}
	return entity.SigningKey{}, false
}

// truncate drops sub-millisecond precision, which Cassandra timestamps lack,
// so a key reads back exactly as it was written.
func truncate(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }
