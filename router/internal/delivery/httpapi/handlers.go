// Package httpapi serves the router's internal API (shared/routerapi) on the
// internal listener, behind service authentication.
package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/router/internal/usecase"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/routerapi"
)

// maxBody bounds a request body: a full delivery call with large frames.
const maxBody = 8 << 20

// Handlers adapts the use cases to HTTP.
type Handlers struct {
	registration *usecase.Registration
	routing      *usecase.Routing
}

// Register mounts the routes on api (the /internal/v1 group).
func Register(api *gin.RouterGroup, registration *usecase.Registration, routing *usecase.Routing) {
	h := &Handlers{registration: registration, routing: routing}
	api.POST(rel(routerapi.PathAnnounce), h.announce)
	api.POST(rel(routerapi.PathWithdraw), h.withdraw)
	api.GET(rel(routerapi.PathGateways), h.gateways)
	api.POST(rel(routerapi.PathAttach), h.attach)
	api.POST(rel(routerapi.PathDetach), h.detach)
	api.POST(rel(routerapi.PathLookup), h.lookup)
	api.POST(rel(routerapi.PathDeliver), h.deliver)
}

// rel strips the group prefix from a contract path.
func rel(path string) string { return path[len("/internal/v1"):] }

func bind[T any](c *gin.Context) (T, bool) {
	var req T
	if err := kit.BindJSON(c, maxBody, &req); err != nil {
		kit.AbortWithError(c, err)
		return req, false
	}
	return req, true
}

func (h *Handlers) announce(c *gin.Context) {
	req, ok := bind[routerapi.AnnounceRequest](c)
	if !ok {
		return
	}
	known, err := h.registration.Announce(c, req.Gateway)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, routerapi.AnnounceResponse{Known: known, TTLMs: h.registration.GatewayTTL().Milliseconds()})
}

func (h *Handlers) withdraw(c *gin.Context) {
	req, ok := bind[routerapi.WithdrawRequest](c)
	if !ok {
		return
	}
	if err := h.registration.Withdraw(c, req.GatewayID); err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h *Handlers) gateways(c *gin.Context) {
	gws, err := h.routing.Gateways(c)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, routerapi.GatewaysResponse{Gateways: gws})
}

func (h *Handlers) attach(c *gin.Context) {
	req, ok := bind[routerapi.ConnsRequest](c)
	if !ok {
		return
	}
	if err := h.registration.Attach(c, req.GatewayID, req.Conns); err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h *Handlers) detach(c *gin.Context) {
	req, ok := bind[routerapi.ConnsRequest](c)
	if !ok {
		return
	}
	if err := h.registration.Detach(c, req.GatewayID, req.Conns); err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h *Handlers) lookup(c *gin.Context) {
	req, ok := bind[routerapi.LookupRequest](c)
	if !ok {
		return
	}
	routes, err := h.routing.Lookup(c, req.Users, req.LocalOnly)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, routerapi.LookupResponse{Routes: routes})
}

func (h *Handlers) deliver(c *gin.Context) {
	req, ok := bind[routerapi.DeliverRequest](c)
	if !ok {
		return
	}
	out, err := h.routing.Deliver(c, req.Items, req.LocalOnly)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, routerapi.DeliverResponse{Outcomes: out})
}
