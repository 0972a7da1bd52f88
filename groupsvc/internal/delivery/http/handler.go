// Package http serves groupsvc's API with gin on the internal listener,
// behind service authentication:
//   - /internal/v1/groups/...: the user API. Clients reach it through the
//     gateway, which relays /api/v1/groups/* and vouches for the signed-in
//     user with the kit's identity headers (kit.ReadIdentity);
//   - the groupapi routes (rosters, memberships): for messagesvc and other
//     services only, outside the relayed prefix.
//
// Handlers decode and bound input, call one use case, and convert the
// result; every error goes out through kit.AbortWithError.
package http

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/groupsvc/internal/entity"
	"github.com/parleychat/parley/groupsvc/internal/usecase"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/groupapi"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
)

// maxJSONBody bounds every JSON request body (a batch of users fits easily).
const maxJSONBody = 32 << 10

// rosterCacheBytes bounds the encoded rosters kept (about 60 KiB per
// 1,000 members).
const rosterCacheBytes = 64 << 20

// Handler serves the groups API.
type Handler struct {
	uc      *usecase.Service
	rosters *rosterCache
}

// NewHandler returns the handlers over the use cases.
func NewHandler(uc *usecase.Service) *Handler {
	return &Handler{uc: uc, rosters: newRosterCache(rosterCacheBytes)}
}

// Register mounts the routes on api, the service-authenticated /internal/v1 group.
func (h *Handler) Register(api *gin.RouterGroup) {
	user := api.Group("/groups", kit.ReadIdentity(), kit.RequireUser())
	user.POST("", h.create)
	user.GET("", h.myGroups)
	user.GET("/limits", h.limits)
	user.GET("/admin/limits", h.adminLimits)
	user.PUT("/admin/limits", h.setPlatformLimits)
	user.GET("/admin/audit", h.audit)
	user.GET("/:id", h.get)
	user.PATCH("/:id", h.update)
	user.DELETE("/:id", h.deleteGroup)
	user.PUT("/:id/limit", h.setLimit)
	user.GET("/:id/members", h.members)
	user.POST("/:id/members", h.addMembers)
	user.DELETE("/:id/members/:user", h.removeMember)
	user.PUT("/:id/members/:user/role", h.changeRole)
	user.POST("/:id/leave", h.leave)

	api.GET(strings.TrimPrefix(groupapi.PathRoster, "/internal/v1"), h.roster)
	api.GET(strings.TrimPrefix(groupapi.PathMember, "/internal/v1"), h.rosterMember)
	api.GET(strings.TrimPrefix(groupapi.PathMemberships, "/internal/v1"), h.memberships)
}

func identity(c *gin.Context) usecase.Identity {
	id, _ := kit.IdentityFrom(c.Request.Context())
	return usecase.Identity{UserID: id.UserID, Roles: id.Roles}
}

// pathID parses a path id; a malformed one is not_found like any unknown one.
func pathID(c *gin.Context, name, what string) (ids.ID, bool) {
	id, err := ids.Parse(c.Param(name))
	if err != nil || id <= 0 {
		kit.AbortWithError(c, errs.Newf(errs.NotFound, "no such %s", what))
		return 0, false
	}
	return id, true
}

// page reads ?<cursor>=<id>&limit=<n>.
func page(c *gin.Context, cursorName string) (ids.ID, int, bool) {
	var cur ids.ID
	if raw := c.Query(cursorName); raw != "" {
		id, err := ids.Parse(raw)
		if err != nil || id < 0 {
			kit.AbortWithError(c, errs.Newf(errs.InvalidArgument, "%s must be an id from a previous page", cursorName).
				WithDetail("field", cursorName))
			return 0, 0, false
		}
		cur = id
	}
	limit := 0
	if raw := c.Query("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err == nil {
			limit, err = usecase.CheckPage(n)
		}
		if err != nil || n == 0 {
			kit.AbortWithError(c, errs.Newf(errs.InvalidArgument, "limit must be between 1 and %d", usecase.MaxPage).
				WithDetail("field", "limit").WithDetail("max", strconv.Itoa(usecase.MaxPage)))
			return 0, 0, false
		}
	}
	return cur, limit, true
}

// mediaID parses an avatar: a media id, or "" for none.
func mediaID(raw string) (ids.ID, error) {
	if raw == "" {
		return 0, nil
	}
	id, err := ids.Parse(raw)
	if err != nil || id <= 0 {
		return 0, errs.New(errs.InvalidArgument, "avatar must be a media id").WithDetail("field", "avatar")
	}
	return id, nil
}

func bind(c *gin.Context, v any) bool {
	if err := kit.BindJSON(c, maxJSONBody, v); err != nil {
		kit.AbortWithError(c, err)
		return false
	}
	return true
}

func (h *Handler) respondGroup(c *gin.Context, status int, g entity.Group, me entity.Member) {
	v, err := h.uc.View(c.Request.Context(), g, me)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.JSON(status, groupEnvelope{Group: toGroup(v)})
}

func (h *Handler) create(c *gin.Context) {
	var req createRequest
	if !bind(c, &req) {
		return
	}
	avatar, err := mediaID(req.Avatar)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	caller := identity(c)
	g, err := h.uc.CreateGroup(c.Request.Context(), usecase.CreateInput{Caller: caller, Name: req.Name, Topic: req.Topic,
		Avatar: avatar, Members: req.Members, SizeLimit: req.SizeLimit})
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	h.respondGroup(c, http.StatusCreated, g, entity.Member{Group: g.ID, User: caller.UserID, Role: entity.RoleOwner, JoinedAt: g.CreatedAt})
}

func (h *Handler) myGroups(c *gin.Context) {
	after, limit, ok := page(c, "after")
	if !ok {
		return
	}
	views, next, err := h.uc.MyGroups(c.Request.Context(), identity(c), after, limit)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	out := groupsPage{Groups: make([]groupJSON, len(views)), Next: cursor(next)}
	for i, v := range views {
		out.Groups[i] = toGroup(v)
	}
	c.JSON(http.StatusOK, out)
}

func (h *Handler) get(c *gin.Context) {
	id, ok := pathID(c, "id", "group")
	if !ok {
		return
	}
	v, err := h.uc.GetGroup(c.Request.Context(), identity(c), id)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, groupEnvelope{Group: toGroup(v)})
}

func (h *Handler) update(c *gin.Context) {
	id, ok := pathID(c, "id", "group")
	if !ok {
		return
	}
	var req updateRequest
	if !bind(c, &req) {
		return
	}
	if req.Name == nil && req.Topic == nil && req.Avatar == nil {
		kit.AbortWithError(c, errs.New(errs.InvalidArgument, "set name, topic or avatar"))
		return
	}
	in := usecase.SettingsInput{Caller: identity(c), Group: id, Name: req.Name, Topic: req.Topic}
	if req.Avatar != nil {
		avatar, err := mediaID(*req.Avatar)
		if err != nil {
			kit.AbortWithError(c, err)
			return
		}
		in.Avatar = &avatar
	}
	g, err := h.uc.UpdateSettings(c.Request.Context(), in)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	h.respondAsMember(c, g)
}

// respondAsMember answers with g as the caller sees it.
func (h *Handler) respondAsMember(c *gin.Context, g entity.Group) {
	v, err := h.uc.GetGroup(c.Request.Context(), identity(c), g.ID)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	if v.Group.Version < g.Version { // a replica behind: answer with what the change wrote
		v.Group = g
	}
	c.JSON(http.StatusOK, groupEnvelope{Group: toGroup(v)})
}

func (h *Handler) deleteGroup(c *gin.Context) {
	id, ok := pathID(c, "id", "group")
	if !ok {
		return
	}
	if err := h.uc.DeleteGroup(c.Request.Context(), identity(c), id); err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h *Handler) setLimit(c *gin.Context) {
	id, ok := pathID(c, "id", "group")
	if !ok {
		return
	}
	var req limitRequest
	if !bind(c, &req) {
		return
	}
	g, err := h.uc.SetGroupLimit(c.Request.Context(), identity(c), id, req.SizeLimit)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	h.respondAsMember(c, g)
}

func (h *Handler) members(c *gin.Context) {
	id, ok := pathID(c, "id", "group")
	if !ok {
		return
	}
	after, limit, ok := page(c, "after")
	if !ok {
		return
	}
	ms, next, err := h.uc.ListMembers(c.Request.Context(), identity(c), id, after, limit)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, membersPage{Members: toMembers(ms), Next: cursor(next)})
}

func (h *Handler) addMembers(c *gin.Context) {
	id, ok := pathID(c, "id", "group")
	if !ok {
		return
	}
	var req addRequest
	if !bind(c, &req) {
		return
	}
	caller := identity(c)
	res, err := h.uc.AddMembers(c.Request.Context(), caller, id, req.Users)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	v, err := h.uc.GetGroup(c.Request.Context(), caller, id)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	if v.Group.Version < res.Group.Version {
		v.Group = res.Group
	}
	already := res.Already
	if already == nil {
		already = []ids.ID{}
	}
	c.JSON(http.StatusOK, addResponse{Group: toGroup(v), Added: toMembers(res.Added), AlreadyMembers: already})
}

func (h *Handler) removeMember(c *gin.Context) {
	id, ok := pathID(c, "id", "group")
	if !ok {
		return
	}
	user, ok := pathID(c, "user", "member")
	if !ok {
		return
	}
	if err := h.uc.RemoveMember(c.Request.Context(), identity(c), id, user); err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h *Handler) changeRole(c *gin.Context) {
	id, ok := pathID(c, "id", "group")
	if !ok {
		return
	}
	user, ok := pathID(c, "user", "member")
	if !ok {
		return
	}
	var req roleRequest
	if !bind(c, &req) {
		return
	}
	m, err := h.uc.ChangeRole(c.Request.Context(), identity(c), id, user, req.Role)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, memberEnvelope{Member: toMember(m)})
}

func (h *Handler) leave(c *gin.Context) {
	id, ok := pathID(c, "id", "group")
	if !ok {
		return
	}
	if err := h.uc.Leave(c.Request.Context(), identity(c), id); err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h *Handler) limits(c *gin.Context) {
	l, err := h.uc.PlatformLimits(c.Request.Context())
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, toLimits(l))
}

func (h *Handler) adminLimits(c *gin.Context) {
	if !identity(c).HasRole(usecase.RoleAdmin) {
		kit.AbortWithError(c, errs.New(errs.PermissionDenied, "platform admin role required"))
		return
	}
	l, err := h.uc.PlatformLimits(c.Request.Context())
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	out := toLimits(l)
	out.MaxCeiling = h.uc.HardMax()
	c.JSON(http.StatusOK, out)
}

func (h *Handler) setPlatformLimits(c *gin.Context) {
	var req platformLimitsRequest
	if !bind(c, &req) {
		return
	}
	l, err := h.uc.SetPlatformLimits(c.Request.Context(), usecase.LimitsInput{Caller: identity(c),
		Default: req.DefaultLimit, Ceiling: req.Ceiling})
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	out := toLimits(l)
	out.MaxCeiling = h.uc.HardMax()
	c.JSON(http.StatusOK, out)
}

func (h *Handler) audit(c *gin.Context) {
	before, limit, ok := page(c, "before")
	if !ok {
		return
	}
	es, next, err := h.uc.Audit(c.Request.Context(), identity(c), before, limit)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	out := auditPage{Entries: make([]auditJSON, len(es)), Next: cursor(next)}
	for i, e := range es {
		out.Entries[i] = auditJSON{ID: e.ID, Actor: e.Actor, Field: e.Field, Old: e.Old, New: e.New, At: e.At}
	}
	c.JSON(http.StatusOK, out)
}

func (h *Handler) roster(c *gin.Context) {
	id, ok := pathID(c, "group", "group")
	if !ok {
		return
	}
	version, err := h.uc.RosterVersion(c.Request.Context(), id)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	if body := h.rosters.get(id, version); body != nil {
		c.Data(http.StatusOK, "application/json; charset=utf-8", body)
		return
	}
	r, err := h.uc.Roster(c.Request.Context(), id)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	body, err := json.Marshal(r)
	if err != nil {
		kit.AbortWithError(c, errs.Wrap(err, errs.Internal, "encode roster"))
		return
	}
	h.rosters.put(id, r.Version, body)
	c.Data(http.StatusOK, "application/json; charset=utf-8", body)
}

func (h *Handler) rosterMember(c *gin.Context) {
	id, ok := pathID(c, "group", "group")
	if !ok {
		return
	}
	user, ok := pathID(c, "user", "member")
	if !ok {
		return
	}
	m, err := h.uc.RosterMember(c.Request.Context(), id, user)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, m)
}

func (h *Handler) memberships(c *gin.Context) {
	user, ok := pathID(c, "user", "user")
	if !ok {
		return
	}
	m, err := h.uc.UserMemberships(c.Request.Context(), user)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	if m.Groups == nil {
		m.Groups = []groupapi.Membership{}
	}
	c.JSON(http.StatusOK, m)
}
