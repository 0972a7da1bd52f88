package entity

import "errors"

// Store errors. Adapters return exactly these (possibly wrapped), so use
// cases can tell the cases apart without knowing the adapter.
var (
	ErrNotFound       = errors.New("not found")
	ErrUsernameTaken  = errors.New("username taken")
	ErrConflict       = errors.New("concurrent update lost")
	ErrTokenReused    = errors.New("refresh token already used")
	ErrTokenExpired   = errors.New("refresh token expired")
	ErrSessionRevoked = errors.New("session revoked")
)
