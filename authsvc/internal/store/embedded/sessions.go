package embedded

import (
	"bytes"
	"context"
	"errors"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/parleychat/parley/authsvc/internal/entity"
	"github.com/parleychat/parley/shared/ids"
)

// Device implements usecase.Sessions.
func (s *Store) Device(ctx context.Context, userID, deviceID ids.ID) (entity.Device, error) {
	var d entity.Device
	err := s.view(ctx, func(tx *bolt.Tx) error {
		r, err := getDevice(tx, userID, deviceID)
		d = r.entity()
		return err
	})
	return d, err
}

// Devices implements usecase.Sessions.
func (s *Store) Devices(ctx context.Context, userID ids.ID) ([]entity.Device, error) {
	var out []entity.Device
	err := s.view(ctx, func(tx *bolt.Tx) error {
		prefix := be64(int64(userID))
		c := tx.Bucket(bucketDevices).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			r, err := decode[deviceRecord](v)
			if err != nil {
				return err
			}
			out = append(out, r.entity())
		}
		return nil
	})
	return out, err
}

// StartSession implements usecase.Sessions.
func (s *Store) StartSession(ctx context.Context, d entity.Device, t entity.RefreshToken) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		if err := putDevice(tx, toDeviceRecord(d)); err != nil {
			return err
		}
		return putRefresh(tx, t.Hash, toRefreshRecord(t))
	})
}

// ConsumeRefreshToken implements usecase.Sessions: checks, the used mark,
// the new token and the device's last-seen time are one transaction.
func (s *Store) ConsumeRefreshToken(ctx context.Context, oldHash, newHash []byte, newExpiry, now time.Time) (entity.RefreshToken, error) {
	var old entity.RefreshToken
	err := s.update(ctx, func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketRefresh).Get(oldHash)
		if raw == nil {
			return entity.ErrNotFound
		}
		r, err := decode[refreshRecord](raw)
		if err != nil {
			return err
		}
		old = r.entity(oldHash)
		switch {
		case r.Used:
			return entity.ErrTokenReused
		case !now.Before(r.ExpiresAt):
			return entity.ErrTokenExpired
		}
		dev, err := getDevice(tx, old.UserID, old.DeviceID)
		if err != nil && !errors.Is(err, entity.ErrNotFound) {
			return err
		}
		if err != nil || dev.SessionID != r.SessionID {
			return entity.ErrSessionRevoked
		}
		r.Used = true
		if err := putRefresh(tx, oldHash, r); err != nil {
			return err
		}
		next := refreshRecord{UserID: r.UserID, DeviceID: r.DeviceID, SessionID: r.SessionID, IssuedAt: now, ExpiresAt: newExpiry}
		if err := putRefresh(tx, newHash, next); err != nil {
			return err
		}
		dev.LastSeenAt = now
		return putDevice(tx, dev)
	})
	return old, err
}

// EndSession implements usecase.Sessions.
func (s *Store) EndSession(ctx context.Context, userID, deviceID, sessionID ids.ID) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		d, err := getDevice(tx, userID, deviceID)
		if errors.Is(err, entity.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if d.SessionID == 0 || (sessionID != 0 && d.SessionID != int64(sessionID)) {
			return nil
		}
		d.SessionID = 0
		return putDevice(tx, d)
	})
}

// EndAllSessions implements usecase.Sessions.
func (s *Store) EndAllSessions(ctx context.Context, userID, keep ids.ID) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		prefix := be64(int64(userID))
		b := tx.Bucket(bucketDevices)
		var changed []deviceRecord
		c := b.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			r, err := decode[deviceRecord](v)
			if err != nil {
				return err
			}
			if r.SessionID != 0 && r.ID != int64(keep) {
				r.SessionID = 0
				changed = append(changed, r)
			}
		}
		// Written after the scan: bbolt cursors must not see their bucket change.
		for _, r := range changed {
			if err := putDevice(tx, r); err != nil {
				return err
			}
		}
		return nil
	})
}

func getDevice(tx *bolt.Tx, userID, deviceID ids.ID) (deviceRecord, error) {
	raw := tx.Bucket(bucketDevices).Get(pairKey(int64(userID), int64(deviceID)))
	if raw == nil {
		return deviceRecord{}, entity.ErrNotFound
	}
	return decode[deviceRecord](raw)
}

func putDevice(tx *bolt.Tx, r deviceRecord) error {
	return tx.Bucket(bucketDevices).Put(pairKey(r.UserID, r.ID), encode(r))
}

func putRefresh(tx *bolt.Tx, hash []byte, r refreshRecord) error {
	if err := tx.Bucket(bucketRefresh).Put(hash, encode(r)); err != nil {
		return err
	}
	return tx.Bucket(bucketRefreshExpiry).Put(expiryKey(r.ExpiresAt, hash), nil)
}

func expiryKey(t time.Time, hash []byte) []byte { return append(be64(t.UnixNano()), hash...) }
