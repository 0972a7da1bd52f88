// Package http serves authsvc's API with gin on the internal listener, under
// /internal/v1/auth, behind service authentication: clients reach it through
// the gateway, which relays their requests and vouches for the signed-in
// user with the kit's identity headers (kit.ReadIdentity). Handlers decode and bound
// input, call one use case, and convert the result; every error goes out
// through kit.AbortWithError and the shared error table.
package http

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/authsvc/internal/usecase"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
)

// maxBody bounds every request body. It is above the 128-byte password limit
// on purpose, so an over-long password gets its own clear error.
const maxBody = 8 << 10

// Handler serves the auth API.
type Handler struct {
	uc  *usecase.Service
	now func() time.Time
}

// NewHandler returns the handlers over the use cases.
func NewHandler(uc *usecase.Service, now func() time.Time) *Handler {
	return &Handler{uc: uc, now: now}
}

// Register mounts the routes on api, the service-authenticated /internal/v1 group.
func (h *Handler) Register(api *gin.RouterGroup) {
	auth := api.Group("/auth", kit.ReadIdentity())
	auth.POST("/register", h.register)
	auth.POST("/sign-in", h.signIn)
	auth.POST("/refresh", h.refresh)
	auth.GET("/jwks", h.jwks)

	user := auth.Group("", kit.RequireUser())
	user.POST("/sign-out", h.signOut)
	user.POST("/sign-out-all", h.signOutAll)
	user.GET("/me", h.me)
	user.POST("/password", h.changePassword)
	user.GET("/devices", h.devices)
	user.GET("/users/by-username/:username", h.lookupUser)
	user.PUT("/admin/users/:id/roles", h.setRoles)
	user.POST("/admin/keys/rotate", h.rotateKeys)
	// Signed-in users see other users' public profiles by id (names in chats).
	user.GET("/users/:id", h.userByID)

	// For other services only: outside /auth, so the gateway's public relay
	// (which forwards /api/v1/auth/*) cannot reach it.
	api.GET("/accounts/:id", h.userByID)
}

func (h *Handler) userByID(c *gin.Context) {
	id, err := ids.Parse(c.Param("id"))
	if err != nil {
		kit.AbortWithError(c, errs.New(errs.InvalidArgument, "user id must be a decimal id"))
		return
	}
	a, err := h.uc.UserByID(c.Request.Context(), id)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, toPublicUser(a))
}

// caller converts the forwarded identity for the use cases. authsvc issues
// numeric device ids, so anything else cannot be one of its sessions.
func caller(c *gin.Context) (usecase.Identity, bool) {
	id, _ := kit.IdentityFrom(c.Request.Context())
	device, err := ids.Parse(id.DeviceID)
	if err != nil {
		kit.AbortWithError(c, errs.New(errs.Unauthenticated, "unknown device"))
		return usecase.Identity{}, false
	}
	return usecase.Identity{UserID: id.UserID, DeviceID: device, Roles: id.Roles}, true
}

// noStore marks responses carrying credentials as uncacheable (RFC 6749 §5.1).
func noStore(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
}

func (h *Handler) register(c *gin.Context) {
	var req registerRequest
	if err := kit.BindJSON(c, maxBody, &req); err != nil {
		kit.AbortWithError(c, err)
		return
	}
	a, err := h.uc.Register(c.Request.Context(), usecase.RegisterInput{Username: req.Username,
		Password: req.Password, DisplayName: req.DisplayName})
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.JSON(http.StatusCreated, userEnvelope{User: toUser(a)})
}

func (h *Handler) signIn(c *gin.Context) {
	var req signInRequest
	if err := kit.BindJSON(c, maxBody, &req); err != nil {
		kit.AbortWithError(c, err)
		return
	}
	s, err := h.uc.SignIn(c.Request.Context(), usecase.SignInInput{Username: req.Username, Password: req.Password,
		DeviceName: req.DeviceName, DeviceID: req.DeviceID, ClientAddr: kit.ClientAddrFrom(c.Request.Context())})
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	noStore(c)
	c.JSON(http.StatusOK, toSession(s, h.now()))
}

func (h *Handler) refresh(c *gin.Context) {
	var req refreshRequest
	if err := kit.BindJSON(c, maxBody, &req); err != nil {
		kit.AbortWithError(c, err)
		return
	}
	s, err := h.uc.Refresh(c.Request.Context(), req.RefreshToken)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	noStore(c)
	c.JSON(http.StatusOK, toSession(s, h.now()))
}

func (h *Handler) signOut(c *gin.Context) {
	id, ok := caller(c)
	if !ok {
		return
	}
	if err := h.uc.SignOut(c.Request.Context(), id); err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h *Handler) signOutAll(c *gin.Context) {
	id, ok := caller(c)
	if !ok {
		return
	}
	if err := h.uc.SignOutAll(c.Request.Context(), id); err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h *Handler) me(c *gin.Context) {
	id, ok := caller(c)
	if !ok {
		return
	}
	a, err := h.uc.Me(c.Request.Context(), id)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, userEnvelope{User: toUser(a)})
}

func (h *Handler) changePassword(c *gin.Context) {
	id, ok := caller(c)
	if !ok {
		return
	}
	var req changePasswordRequest
	if err := kit.BindJSON(c, maxBody, &req); err != nil {
		kit.AbortWithError(c, err)
		return
	}
	if err := h.uc.ChangePassword(c.Request.Context(), id, req.CurrentPassword, req.NewPassword); err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h *Handler) devices(c *gin.Context) {
	id, ok := caller(c)
	if !ok {
		return
	}
	ds, err := h.uc.ListDevices(c.Request.Context(), id)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, toDevices(ds, id.DeviceID))
}

func (h *Handler) lookupUser(c *gin.Context) {
	a, err := h.uc.LookupUser(c.Request.Context(), c.Param("username"))
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, toPublicUser(a))
}

func (h *Handler) setRoles(c *gin.Context) {
	id, ok := caller(c)
	if !ok {
		return
	}
	target, err := ids.Parse(c.Param("id"))
	if err != nil {
		kit.AbortWithError(c, errs.New(errs.InvalidArgument, "user id must be a decimal id"))
		return
	}
	var req setRolesRequest
	if err := kit.BindJSON(c, maxBody, &req); err != nil {
		kit.AbortWithError(c, err)
		return
	}
	if req.Roles == nil {
		kit.AbortWithError(c, errs.New(errs.InvalidArgument, "roles is required (use [] to remove all)"))
		return
	}
	a, err := h.uc.SetRoles(c.Request.Context(), id, target, *req.Roles)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, userEnvelope{User: toUser(a)})
}

func (h *Handler) rotateKeys(c *gin.Context) {
	id, ok := caller(c)
	if !ok {
		return
	}
	k, err := h.uc.RotateKeys(c.Request.Context(), id)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, rotateResponse{KeyID: k.ID, ActivatesAt: k.ActivatesAt})
}

// jwks serves the public keys. Like every /internal/v1 route it needs a
// service token; the gateway republishes it publicly.
func (h *Handler) jwks(c *gin.Context) {
	c.Header("Cache-Control", "max-age=60")
	c.JSON(http.StatusOK, h.uc.JWKS())
}
