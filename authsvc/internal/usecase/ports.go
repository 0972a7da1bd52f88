package usecase

import (
	"context"
	"time"

	"github.com/parleychat/parley/authsvc/internal/entity"
	"github.com/parleychat/parley/shared/authtoken"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/ratelimit"
)

// Accounts stores accounts. Implementations are safe for concurrent use.
type Accounts interface {
	// CreateAccount stores a new account. If its username is taken it
	// returns entity.ErrUsernameTaken and leaves nothing visible; of
	// concurrent creators of one username exactly one succeeds.
	CreateAccount(ctx context.Context, a entity.Account) error
	// AccountByID returns entity.ErrNotFound when there is no such account.
	AccountByID(ctx context.Context, id ids.ID) (entity.Account, error)
	// AccountByUsername takes a normalized username; entity.ErrNotFound if unknown.
	AccountByUsername(ctx context.Context, username string) (entity.Account, error)
	// SetPasswordHash replaces the hash; entity.ErrNotFound if no such account.
	SetPasswordHash(ctx context.Context, id ids.ID, hash string, changedAt time.Time) error
	// SetRoles replaces the roles; entity.ErrNotFound if no such account.
	SetRoles(ctx context.Context, id ids.ID, roles []string) error
}

// Sessions stores devices and their refresh tokens. Implementations are safe
// for concurrent use.
type Sessions interface {
	// Device returns one device of a user, signed in or not; entity.ErrNotFound if none.
	Device(ctx context.Context, userID, deviceID ids.ID) (entity.Device, error)
	// Devices returns every device of a user, signed in or not.
	Devices(ctx context.Context, userID ids.ID) ([]entity.Device, error)
	// StartSession stores d (new or replacing the stored device, which
	// revokes its previous session) and t, the first token of d's session.
	StartSession(ctx context.Context, d entity.Device, t entity.RefreshToken) error
	// ConsumeRefreshToken exchanges the token whose hash is oldHash for a new
	// one (newHash, expiring at newExpiry) in the same session, marks the
	// device seen at now, and returns the old token's record. Errors:
	// entity.ErrNotFound (unknown token), entity.ErrTokenExpired,
	// entity.ErrSessionRevoked (the token's session is no longer the
	// device's), entity.ErrTokenReused (already exchanged; the record is
	// returned too, so the caller can revoke the session). Of concurrent
	// exchanges of one token exactly one succeeds; the others get
	// ErrTokenReused.
	ConsumeRefreshToken(ctx context.Context, oldHash, newHash []byte, newExpiry, now time.Time) (entity.RefreshToken, error)
	// EndSession signs a device out. A non-zero sessionID ends the session
	// only while it is still the device's current one, so revoking a stale
	// token family never ends a newer sign-in. A missing device is no error.
	EndSession(ctx context.Context, userID, deviceID, sessionID ids.ID) error
	// EndAllSessions signs out every device of the user except keep (0: none).
	EndAllSessions(ctx context.Context, userID, keep ids.ID) error
}

// Passwords hashes and checks passwords (password.Hasher).
type Passwords interface {
	Hash(ctx context.Context, pw string) (string, error)
	Verify(ctx context.Context, pw, encoded string) (ok, needsRehash bool, err error)
	VerifyDummy(ctx context.Context, pw string) error
}

// Tokens signs access tokens and manages the signing keys (keyring.Ring).
type Tokens interface {
	Sign(g authtoken.Grant) (string, authtoken.Claims, error)
	Rotate(ctx context.Context) (entity.SigningKey, error)
	JWKS() authtoken.JWKSet
}

// RateLimiter counts attempts (ratelimit.Memory or ratelimit.Redis).
type RateLimiter interface {
	Allow(ctx context.Context, key string, limit ratelimit.Limit) (ratelimit.Decision, error)
}
