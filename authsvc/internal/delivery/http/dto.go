package http

import (
	"math"
	"time"

	"github.com/parleychat/parley/authsvc/internal/entity"
	"github.com/parleychat/parley/authsvc/internal/usecase"
	"github.com/parleychat/parley/shared/ids"
)

// Request bodies.

type registerRequest struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	DisplayName string `json:"display_name"`
}

type signInRequest struct {
	Username   string `json:"username"`
	Password   string `json:"password"`
	DeviceName string `json:"device_name"`
	DeviceID   string `json:"device_id"`
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

type changePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

type setRolesRequest struct {
	Roles *[]string `json:"roles"` // a pointer, so a missing field differs from []
}

// Response bodies.

type userResponse struct {
	ID          ids.ID    `json:"id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name"`
	Roles       []string  `json:"roles"`
	CreatedAt   time.Time `json:"created_at"`
}

type userEnvelope struct {
	User userResponse `json:"user"`
}

// publicUserResponse is what one user may learn about another.
type publicUserResponse struct {
	ID          ids.ID `json:"id"`
	DisplayName string `json:"display_name"`
}

type sessionResponse struct {
	AccessToken      string       `json:"access_token"`
	TokenType        string       `json:"token_type"`
	ExpiresAt        time.Time    `json:"expires_at"`
	ExpiresIn        int64        `json:"expires_in"` // seconds
	RefreshToken     string       `json:"refresh_token"`
	RefreshExpiresAt time.Time    `json:"refresh_expires_at"`
	DeviceID         string       `json:"device_id"`
	User             userResponse `json:"user"`
}

type deviceResponse struct {
	DeviceID   string    `json:"device_id"`
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	Current    bool      `json:"current"`
}

type devicesResponse struct {
	Devices []deviceResponse `json:"devices"`
}

type rotateResponse struct {
	KeyID       string    `json:"kid"`
	ActivatesAt time.Time `json:"activates_at"`
}

// Converters from the use-case layer.

func toUser(a entity.Account) userResponse {
	roles := a.Roles
	if roles == nil {
		roles = []string{}
	}
	return userResponse{ID: a.ID, Username: a.Username, DisplayName: a.DisplayName, Roles: roles, CreatedAt: a.CreatedAt}
}

func toPublicUser(a entity.Account) publicUserResponse {
	return publicUserResponse{ID: a.ID, DisplayName: a.DisplayName}
}

func toSession(s usecase.Session, now time.Time) sessionResponse {
	return sessionResponse{AccessToken: s.AccessToken, TokenType: "Bearer", ExpiresAt: s.AccessExpiresAt,
		ExpiresIn: int64(math.Ceil(s.AccessExpiresAt.Sub(now).Seconds())), RefreshToken: s.RefreshToken,
		RefreshExpiresAt: s.RefreshExpiresAt, DeviceID: s.DeviceID.String(), User: toUser(s.Account)}
}

func toDevices(ds []entity.Device, current ids.ID) devicesResponse {
	out := devicesResponse{Devices: make([]deviceResponse, 0, len(ds))}
	for _, d := range ds {
		out.Devices = append(out.Devices, deviceResponse{DeviceID: d.ID.String(), Name: d.Name,
			CreatedAt: d.CreatedAt, LastSeenAt: d.LastSeenAt, Current: d.ID == current})
	}
	return out
}
