package cassandra

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/parleychat/parley/authsvc/internal/entity"
	"github.com/parleychat/parley/shared/ids"
)

// Device implements usecase.Sessions.
func (s *Store) Device(ctx context.Context, userID, deviceID ids.ID) (entity.Device, error) {
	d, err := scanDevice(s.session.Read(ctx, cqlSelectDevice, int64(userID), int64(deviceID)).Scan)
	if errors.Is(err, gocql.ErrNotFound) {
		return entity.Device{}, entity.ErrNotFound
	}
	if err != nil {
		return entity.Device{}, fmt.Errorf("cassandra: read device: %w", err)
	}
	return d, nil
}

// Devices implements usecase.Sessions.
func (s *Store) Devices(ctx context.Context, userID ids.ID) ([]entity.Device, error) {
	sc := s.session.Read(ctx, cqlSelectDevices, int64(userID)).Iter().Scanner()
	var out []entity.Device
	for sc.Next() {
		d, err := scanDevice(sc.Scan)
		if err != nil {
			return nil, fmt.Errorf("cassandra: read devices: %w", err)
		}
		out = append(out, d)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cassandra: read devices: %w", err)
	}
	return out, nil
}

func scanDevice(scan func(...any) error) (entity.Device, error) {
	var uid, did, sid int64
	var d entity.Device
	if err := scan(&uid, &did, &d.Name, &d.CreatedAt, &d.LastSeenAt, &sid); err != nil {
		return entity.Device{}, err
	}
	d.UserID, d.ID, d.SessionID = ids.ID(uid), ids.ID(did), ids.ID(sid)
	d.CreatedAt, d.LastSeenAt = d.CreatedAt.UTC(), d.LastSeenAt.UTC()
	return d, nil
}

// StartSession implements usecase.Sessions. The token is written before the
// device row that makes its session current, so a current session always
// has its token.
func (s *Store) StartSession(ctx context.Context, d entity.Device, t entity.RefreshToken) error {
	if err := s.insertRefresh(ctx, t.Hash, t.UserID, t.DeviceID, t.SessionID, t.IssuedAt, t.ExpiresAt); err != nil {
		return err
	}
	if err := s.session.Write(ctx, cqlUpsertDevice, int64(d.UserID), int64(d.ID), d.Name, d.CreatedAt, d.LastSeenAt,
		int64(d.SessionID)); err != nil {
		return fmt.Errorf("cassandra: write device: %w", err)
	}
	return nil
}

func (s *Store) insertRefresh(ctx context.Context, hash []byte, user, device, session ids.ID, issued, exp time.Time) error {
	if err := s.session.Write(ctx, cqlInsertRefresh, hash, int64(user), int64(device), int64(session), issued, exp,
		ttlSeconds(exp, time.Now())); err != nil {
		return fmt.Errorf("cassandra: write refresh token: %w", err)
	}
	return nil
}

// ConsumeRefreshToken implements usecase.Sessions. Plain reads reject the
// common bad cases cheaply; the single-use guarantee is the LWT
// "UPDATE … IF used = false": of concurrent exchanges exactly one applies.
// The successor is written before that LWT, so a failure after it never
// leaves a client holding a used token with no replacement stored; a
// successor whose LWT lost is unreachable and deleted (or expires).
func (s *Store) ConsumeRefreshToken(ctx context.Context, oldHash, newHash []byte, newExpiry, now time.Time) (entity.RefreshToken, error) {
	var uid, did, sid int64
	old := entity.RefreshToken{Hash: oldHash}
	err := s.session.Read(ctx, cqlSelectRefresh, oldHash).Scan(&uid, &did, &sid, &old.IssuedAt, &old.ExpiresAt, &old.Used)
	if errors.Is(err, gocql.ErrNotFound) {
		return entity.RefreshToken{}, entity.ErrNotFound
	}
	if err != nil {
		return entity.RefreshToken{}, fmt.Errorf("cassandra: read refresh token: %w", err)
	}
	old.UserID, old.DeviceID, old.SessionID = ids.ID(uid), ids.ID(did), ids.ID(sid)
	old.IssuedAt, old.ExpiresAt = old.IssuedAt.UTC(), old.ExpiresAt.UTC()
	switch {
	case old.Used:
		return old, entity.ErrTokenReused
	case !now.Before(old.ExpiresAt):
		return old, entity.ErrTokenExpired
	}
	var current int64
	err = s.session.Read(ctx, cqlDeviceSession, uid, did).Scan(&current)
	if errors.Is(err, gocql.ErrNotFound) || (err == nil && current != sid) {
		return old, entity.ErrSessionRevoked
	}
	if err != nil {
		return entity.RefreshToken{}, fmt.Errorf("cassandra: read device session: %w", err)
	}
	if err := s.insertRefresh(ctx, newHash, old.UserID, old.DeviceID, old.SessionID, now, newExpiry); err != nil {
		return entity.RefreshToken{}, err
	}
	// The TTL keeps the used flag from outliving the row (an UPDATE without
	// one would leave a lone cell behind forever).
	var used bool
	applied, err := s.session.LWT(ctx, cqlMarkRefreshUse, ttlSeconds(old.ExpiresAt, time.Now()), oldHash).ScanCAS(&used)
	if err != nil {
		return entity.RefreshToken{}, fmt.Errorf("cassandra: mark refresh token used (outcome unknown): %w", err)
	}
	if !applied {
		_ = s.session.Write(ctx, cqlDeleteRefresh, newHash)
		return old, entity.ErrTokenReused
	}
	if err := s.session.Write(ctx, cqlTouchDevice, now, uid, did); err != nil {
		// The exchange happened; a stale last-seen time is not worth failing it.
		s.logger.Warn("updating device last-seen failed", slog.Any("err", err))
	}
	return old, nil
}

// EndSession implements usecase.Sessions. It reads the device's session and
// clears it with a plain write: the window between the two is tiny, and
// losing that race only signs out a sign-in made in the same instant.
func (s *Store) EndSession(ctx context.Context, userID, deviceID, sessionID ids.ID) error {
	var current int64
	err := s.session.Read(ctx, cqlDeviceSession, int64(userID), int64(deviceID)).Scan(&current)
	if errors.Is(err, gocql.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cassandra: read device session: %w", err)
	}
	if current == 0 || (sessionID != 0 && current != int64(sessionID)) {
		return nil
	}
	return s.session.Write(ctx, cqlEndSession, int64(userID), int64(deviceID))
}

// EndAllSessions implements usecase.Sessions with one single-partition batch.
func (s *Store) EndAllSessions(ctx context.Context, userID, keep ids.ID) error {
	devices, err := s.Devices(ctx, userID)
	if err != nil {
		return err
	}
	b := s.session.Batch(gocql.UnloggedBatch).WithContext(ctx)
	for _, d := range devices {
		if d.SignedIn() && d.ID != keep {
			b.Entries = append(b.Entries, gocql.BatchEntry{Stmt: cqlEndSession,
				Args: []any{int64(userID), int64(d.ID)}, Idempotent: true})
		}
	}
	if len(b.Entries) == 0 {
		return nil
	}
	if err := b.Exec(); err != nil {
		return fmt.Errorf("cassandra: end sessions: %w", err)
	}
	return nil
}
