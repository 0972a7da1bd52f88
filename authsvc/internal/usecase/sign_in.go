package usecase

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/parleychat/parley/authsvc/internal/entity"
	"github.com/parleychat/parley/shared/authtoken"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/ratelimit"
)

// SignInInput is a sign-in request. DeviceID, when set, is a device id this
// user got from an earlier sign-in: the device keeps its id (and whatever
// other services keyed by it) and its previous session is revoked.
type SignInInput struct {
	Username   string
	Password   string
	DeviceName string
	DeviceID   string
	// ClientAddr is the end client's address as the gateway saw it; empty
	// disables the per-address limit for this call.
	ClientAddr string
}

// Session is what a sign-in or a refresh hands the client.
type Session struct {
	Account          entity.Account
	DeviceID         ids.ID
	AccessToken      string
	AccessExpiresAt  time.Time
	RefreshToken     string
	RefreshExpiresAt time.Time
}

// SignIn checks the credentials and starts a device session. A wrong
// password and an unknown username give the same error after the same
// amount of hashing work.
func (s *Service) SignIn(ctx context.Context, in SignInInput) (sess Session, err error) {
	outcome := "error"
	defer func() { s.Metrics.SignIns.WithLabelValues(outcome).Inc() }()

	username, err := entity.NormalizeUsername(in.Username)
	if err != nil {
		outcome = "invalid_argument"
		return Session{}, err
	}
	if err := entity.CheckPasswordInput("password", in.Password); err != nil {
		outcome = "invalid_argument"
		return Session{}, err
	}
	deviceName, err := entity.NormalizeDeviceName(in.DeviceName)
	if err != nil {
		outcome = "invalid_argument"
		return Session{}, err
	}
	var deviceID ids.ID
	if in.DeviceID != "" {
		if deviceID, err = ids.Parse(in.DeviceID); err != nil {
			outcome = "invalid_argument"
			return Session{}, errs.New(errs.InvalidArgument, "device_id is not a device id")
		}
	}
	if err := s.checkSignInLimits(ctx, username, in.ClientAddr); err != nil {
		if errs.Is(err, errs.RateLimited) {
			outcome = "rate_limited"
		}
		return Session{}, err
	}
	a, err := s.checkPassword(ctx, username, in.Password)
	if err != nil {
		if errs.Is(err, errs.Unauthenticated) {
			outcome = "invalid_credentials"
		}
		return Session{}, err
	}
	sess, err = s.startSession(ctx, a, deviceID, deviceName)
	if err != nil {
		return Session{}, err
	}
	outcome = "ok"
	s.Logger.Info("signed in", slog.String("user_id", a.ID.String()), slog.String("device_id", sess.DeviceID.String()))
	return sess, nil
}

// checkSignInLimits counts the attempt against the account and the client
// address; the longer wait wins when both are exceeded.
func (s *Service) checkSignInLimits(ctx context.Context, username, addr string) error {
	type counted struct {
		key   string
		limit ratelimit.Limit
	}
	keys := []counted{{"signin:user:" + username, s.cfg.SignInPerAccount}}
	if addr != "" {
		keys = append(keys, counted{"signin:addr:" + addr, s.cfg.SignInPerAddr})
	}
	var wait time.Duration
	for _, k := range keys {
		d, err := s.Limiter.Allow(ctx, k.key, k.limit)
		if err != nil {
			// Fail closed: without the limiter, guessing would be unlimited.
			return errs.Wrap(err, errs.Unavailable, "sign-in temporarily unavailable, try again")
		}
		if !d.Allowed {
			wait = max(wait, d.RetryAfter)
		}
	}
	if wait > 0 {
		e := errs.New(errs.RateLimited, "too many sign-in attempts, try again later")
		e.RetryAfterMs = wait.Milliseconds()
		return e.WithDetail("retry_after_ms", strconv.FormatInt(e.RetryAfterMs, 10))
	}
	return nil
}

// checkPassword returns the account if pw is its password. An unknown user
// costs a dummy verification so timing does not tell the two cases apart.
func (s *Service) checkPassword(ctx context.Context, username, pw string) (entity.Account, error) {
	a, err := s.Accounts.AccountByUsername(ctx, username)
	if errors.Is(err, entity.ErrNotFound) {
		if err := s.Passwords.VerifyDummy(ctx, pw); err != nil {
			return entity.Account{}, hashError(err)
		}
		return entity.Account{}, errInvalidCredentials
	}
	if err != nil {
		return entity.Account{}, storeError(err)
	}
	ok, rehash, err := s.Passwords.Verify(ctx, pw, a.PasswordHash)
	if err != nil {
		if ctx.Err() != nil {
			return entity.Account{}, hashError(err)
		}
		return entity.Account{}, errs.Wrap(err, errs.Internal, "internal error")
	}
	if !ok {
		return entity.Account{}, errInvalidCredentials
	}
	if rehash {
		s.upgradeHash(ctx, a, pw)
	}
	return a, nil
}

// upgradeHash re-hashes with the current parameters after a successful
// verification; failure only means the old hash stays, so it is logged.
func (s *Service) upgradeHash(ctx context.Context, a entity.Account, pw string) {
	hash, err := s.Passwords.Hash(ctx, pw)
	if err == nil {
		err = s.Accounts.SetPasswordHash(ctx, a.ID, hash, a.PasswordChangedAt)
	}
	if err != nil {
		s.Logger.Warn("password hash upgrade failed", slog.String("user_id", a.ID.String()), slog.Any("err", err))
	}
}

// startSession creates or reuses the device and issues its first tokens.
func (s *Service) startSession(ctx context.Context, a entity.Account, deviceID ids.ID, name string) (Session, error) {
	now := s.now()
	dev := entity.Device{UserID: a.ID, ID: s.IDs.Next(), Name: name, CreatedAt: now}
	if deviceID != 0 {
		old, err := s.Sessions.Device(ctx, a.ID, deviceID)
		switch {
		case err == nil:
			dev.ID, dev.CreatedAt = old.ID, old.CreatedAt
			if name == "" {
				dev.Name = old.Name
			}
		case errors.Is(err, entity.ErrNotFound):
			// Not a device of this user: it gets a new id, never someone else's.
		default:
			return Session{}, storeError(err)
		}
	}
	dev.LastSeenAt, dev.SessionID = now, s.IDs.Next()
	refresh, hash := entity.NewRefreshToken()
	rt := entity.RefreshToken{Hash: hash, UserID: a.ID, DeviceID: dev.ID, SessionID: dev.SessionID,
		IssuedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTTL)}
	if err := s.Sessions.StartSession(ctx, dev, rt); err != nil {
		return Session{}, storeError(err)
	}
	return s.issue(a, dev.ID, refresh, rt.ExpiresAt, now)
}

// issue signs the access token that goes with a refresh token.
func (s *Service) issue(a entity.Account, deviceID ids.ID, refresh string, refreshExp, now time.Time) (Session, error) {
	tok, claims, err := s.Tokens.Sign(authtoken.Grant{UserID: a.ID, DeviceID: deviceID.String(), Roles: a.Roles,
		Issuer: s.cfg.Issuer, Audience: s.cfg.Audience, IssuedAt: now, TTL: s.cfg.AccessTTL})
	if err != nil {
		if _, ok := errs.As(err); ok {
			return Session{}, err
		}
		return Session{}, errs.Wrap(err, errs.Internal, "internal error")
	}
	return Session{Account: a, DeviceID: deviceID, AccessToken: tok, AccessExpiresAt: claims.ExpiresAt,
		RefreshToken: refresh, RefreshExpiresAt: refreshExp}, nil
}
