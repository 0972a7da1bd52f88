package embedded

import (
	"crypto/ed25519"
	"encoding/json"
	"time"

	"github.com/parleychat/parley/authsvc/internal/entity"
	"github.com/parleychat/parley/shared/ids"
)

// The stored JSON forms. They are separate from the entities so a renamed
// entity field never silently changes the file format.

type accountRecord struct {
	ID                int64     `json:"id"`
	Username          string    `json:"username"`
	DisplayName       string    `json:"display_name"`
	PasswordHash      string    `json:"password_hash"`
	Roles             []string  `json:"roles,omitempty"`
	CreatedAt         time.Time `json:"created_at"`
	PasswordChangedAt time.Time `json:"password_changed_at"`
}

func toAccountRecord(a entity.Account) accountRecord {
	return accountRecord{ID: int64(a.ID), Username: a.Username, DisplayName: a.DisplayName,
		PasswordHash: a.PasswordHash, Roles: a.Roles, CreatedAt: a.CreatedAt, PasswordChangedAt: a.PasswordChangedAt}
}

func (r accountRecord) entity() entity.Account {
	return entity.Account{ID: ids.ID(r.ID), Username: r.Username, DisplayName: r.DisplayName,
		PasswordHash: r.PasswordHash, Roles: r.Roles, CreatedAt: r.CreatedAt, PasswordChangedAt: r.PasswordChangedAt}
}

type deviceRecord struct {
	UserID     int64     `json:"user_id"`
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	SessionID  int64     `json:"session_id"`
}

func toDeviceRecord(d entity.Device) deviceRecord {
	return deviceRecord{UserID: int64(d.UserID), ID: int64(d.ID), Name: d.Name, CreatedAt: d.CreatedAt,
		LastSeenAt: d.LastSeenAt, SessionID: int64(d.SessionID)}
}

func (r deviceRecord) entity() entity.Device {
	return entity.Device{UserID: ids.ID(r.UserID), ID: ids.ID(r.ID), Name: r.Name, CreatedAt: r.CreatedAt,
		LastSeenAt: r.LastSeenAt, SessionID: ids.ID(r.SessionID)}
}

type refreshRecord struct {
	UserID    int64     `json:"user_id"`
	DeviceID  int64     `json:"device_id"`
	SessionID int64     `json:"session_id"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
	Used      bool      `json:"used"`
}

func toRefreshRecord(t entity.RefreshToken) refreshRecord {
	return refreshRecord{UserID: int64(t.UserID), DeviceID: int64(t.DeviceID), SessionID: int64(t.SessionID),
		IssuedAt: t.IssuedAt, ExpiresAt: t.ExpiresAt, Used: t.Used}
}

func (r refreshRecord) entity(hash []byte) entity.RefreshToken {
	return entity.RefreshToken{Hash: append([]byte(nil), hash...), UserID: ids.ID(r.UserID),
		DeviceID: ids.ID(r.DeviceID), SessionID: ids.ID(r.SessionID), IssuedAt: r.IssuedAt,
		ExpiresAt: r.ExpiresAt, Used: r.Used}
}

type keyRecord struct {
	ID          string    `json:"kid"`
	Private     []byte    `json:"private_key"`
	CreatedAt   time.Time `json:"created_at"`
	ActivatesAt time.Time `json:"activates_at"`
}

func toKeyRecord(k entity.SigningKey) keyRecord {
	return keyRecord{ID: k.ID, Private: k.Private, CreatedAt: k.CreatedAt, ActivatesAt: k.ActivatesAt}
}

func (r keyRecord) entity() entity.SigningKey {
	return entity.SigningKey{ID: r.ID, Private: ed25519.PrivateKey(r.Private), CreatedAt: r.CreatedAt, ActivatesAt: r.ActivatesAt}
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // the record types always marshal
	}
	return b
}

func decode[T any](b []byte) (T, error) {
	var v T
	err := json.Unmarshal(b, &v)
	return v, err
}
