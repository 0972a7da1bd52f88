// Package http serves mediasvc's API with gin on the internal listener,
// under /internal/v1/media, behind service authentication. Clients reach
// the user routes through the gateway, which relays /api/v1/media/* and
// vouches for the signed-in user with the kit's identity headers
// (kit.ReadIdentity). attach and detach are for messagesvc only: they take
// the user from the body, so they accept only the services named in
// AttachCallers (the gateway's relay is refused). Handlers decode and bound
// input, call one use case, and convert the result; every error goes out
// through kit.AbortWithError and the shared error table.
package http

import (
	"io"
	"net/http"
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/mediasvc/internal/entity"
	"github.com/parleychat/parley/mediasvc/internal/usecase"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/mediaapi"
	"github.com/parleychat/parley/shared/svcauth"
)

// maxJSONBody bounds every JSON request body.
const maxJSONBody = 16 << 10

// Config configures the handlers.
type Config struct {
	// AttachCallers are the services allowed to call attach and detach.
	AttachCallers []string
}

// Handler serves the media API.
type Handler struct {
	cfg Config
	uc  *usecase.Service
}

// NewHandler returns the handlers over the use cases.
func NewHandler(cfg Config, uc *usecase.Service) *Handler { return &Handler{cfg: cfg, uc: uc} }

// Register mounts the routes on api, the service-authenticated /internal/v1 group.
func (h *Handler) Register(api *gin.RouterGroup) {
	media := api.Group("/media", kit.ReadIdentity())
	services := media.Group("", h.requireCaller)
	services.POST("/attach", h.attach)
	services.POST("/detach", h.detach)

	user := media.Group("", kit.RequireUser())
	user.POST("", h.upload)
	user.POST("/uploads", h.createUpload)
	user.GET("/limits", h.limits)
	user.PUT("/admin/limits", h.setLimits)
	user.POST("/admin/cleanup", h.cleanup)
	user.POST("/:id/finalize", h.finalize)
	user.GET("/:id", h.get)
	user.GET("/:id/content", h.content)
	user.GET("/:id/thumbnail", h.thumbnail)
}

func (h *Handler) requireCaller(c *gin.Context) {
	caller, _ := svcauth.Caller(c.Request.Context())
	if !slices.Contains(h.cfg.AttachCallers, caller) {
		kit.AbortWithError(c, errs.New(errs.PermissionDenied, "this endpoint is for messagesvc"))
		return
	}
	c.Next()
}

func identity(c *gin.Context) usecase.Identity {
	id, _ := kit.IdentityFrom(c.Request.Context())
	return usecase.Identity{UserID: id.UserID, Roles: id.Roles}
}

// mediaID parses :id; a malformed id is not_found like any unknown one.
func mediaID(c *gin.Context) (ids.ID, bool) {
	id, err := ids.Parse(c.Param("id"))
	if err != nil {
		kit.AbortWithError(c, errs.New(errs.NotFound, "no such media"))
		return 0, false
	}
	return id, true
}

// upload takes the file as the raw request body: POST /media?name=photo.jpg.
func (h *Handler) upload(c *gin.Context) {
	m, err := h.uc.Upload(c.Request.Context(), usecase.UploadInput{Caller: identity(c), Body: c.Request.Body,
		Length: c.Request.ContentLength, Name: c.Query("name")})
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.JSON(http.StatusCreated, mediaEnvelope{Media: toMedia(m)})
}

func (h *Handler) createUpload(c *gin.Context) {
	var req createUploadRequest
	if err := kit.BindJSON(c, maxJSONBody, &req); err != nil {
		kit.AbortWithError(c, err)
		return
	}
	p, err := h.uc.CreateUpload(c.Request.Context(), usecase.CreateUploadInput{Caller: identity(c), Size: req.Size,
		Name: req.Name, SHA256: req.SHA256})
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, toPendingUpload(p))
}

func (h *Handler) finalize(c *gin.Context) {
	id, ok := mediaID(c)
	if !ok {
		return
	}
	var req finalizeRequest
	if c.Request.ContentLength != 0 {
		if err := kit.BindJSON(c, maxJSONBody, &req); err != nil {
			kit.AbortWithError(c, err)
			return
		}
	}
	m, err := h.uc.Finalize(c.Request.Context(), identity(c), id, req.SHA256)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, mediaEnvelope{Media: toMedia(m)})
}

func (h *Handler) get(c *gin.Context) {
	id, ok := mediaID(c)
	if !ok {
		return
	}
	m, err := h.uc.Get(c.Request.Context(), identity(c), id)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.Header("Cache-Control", "private, no-cache")
	c.JSON(http.StatusOK, mediaEnvelope{Media: toMedia(m)})
}

func (h *Handler) content(c *gin.Context) {
	id, ok := mediaID(c)
	if !ok {
		return
	}
	out, err := h.uc.Content(c.Request.Context(), identity(c), id)
	h.serve(c, out, err)
}

func (h *Handler) thumbnail(c *gin.Context) {
	id, ok := mediaID(c)
	if !ok {
		return
	}
	out, err := h.uc.Thumbnail(c.Request.Context(), identity(c), id)
	h.serve(c, out, err)
}

// serve answers with a redirect to a presigned URL, or streams the object
// (with Range support) through mediasvc. Either way the response is private
// to this user and never rendered as active content.
func (h *Handler) serve(c *gin.Context, out usecase.Content, err error) {
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.Header("X-Content-Type-Options", "nosniff")
	if out.Redirect != nil {
		// The URL lasts a few minutes: never cache the redirect longer.
		c.Header("Cache-Control", "private, no-store")
		c.Redirect(http.StatusFound, out.Redirect.URL)
		return
	}
	defer out.Reader.Close()
	info := out.Reader.Info()
	w := c.Writer.Header()
	w.Set("Content-Type", out.Mime)
	w.Set("Content-Disposition", usecase.Download{Disposition: out.Disposition, FileName: out.Name}.Header())
	w.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.Set("Cache-Control", "private, max-age=300")
	w.Set("ETag", strconv.Quote(info.ETag))
	http.ServeContent(c.Writer, c.Request, "", info.ModTime, readSeeker{out.Reader})
}

// readSeeker hides the reader's other methods from http.ServeContent.
type readSeeker struct{ io.ReadSeeker }

func (h *Handler) limits(c *gin.Context) {
	l, err := h.uc.Limits(c.Request.Context())
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, toLimits(l))
}

func (h *Handler) setLimits(c *gin.Context) {
	var req setLimitsRequest
	if err := kit.BindJSON(c, maxJSONBody, &req); err != nil {
		kit.AbortWithError(c, err)
		return
	}
	if req.Limits == nil {
		kit.AbortWithError(c, errs.New(errs.InvalidArgument, "limits is required (use {} to drop every override)"))
		return
	}
	l, err := h.uc.SetLimits(c.Request.Context(), identity(c), entity.Limits(*req.Limits))
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, toLimits(l))
}

func (h *Handler) cleanup(c *gin.Context) {
	if !identity(c).HasRole(usecase.RoleAdmin) {
		kit.AbortWithError(c, errs.New(errs.PermissionDenied, "admin role required"))
		return
	}
	rep, err := h.uc.RunCleanup(c.Request.Context())
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, rep)
}

func (h *Handler) attach(c *gin.Context) {
	var req mediaapi.AttachRequest
	if err := kit.BindJSON(c, maxJSONBody, &req); err != nil {
		kit.AbortWithError(c, err)
		return
	}
	ms, err := h.uc.Attach(c.Request.Context(), usecase.AttachInput{UserID: req.UserID, MediaIDs: req.MediaIDs,
		Message: entity.MessageRef{ConversationID: req.Message.ConversationID, MessageID: req.Message.MessageID}})
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, toAttachments(ms))
}

func (h *Handler) detach(c *gin.Context) {
	var req mediaapi.DetachRequest
	if err := kit.BindJSON(c, maxJSONBody, &req); err != nil {
		kit.AbortWithError(c, err)
		return
	}
	err := h.uc.Detach(c.Request.Context(), req.MediaIDs,
		entity.MessageRef{ConversationID: req.Message.ConversationID, MessageID: req.Message.MessageID})
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
