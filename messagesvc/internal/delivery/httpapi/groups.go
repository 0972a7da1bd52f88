package httpapi

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/messagesvc/internal/usecase"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/groupapi"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/protocol"
)

// GroupUseCases are the use cases of the group routes.
type GroupUseCases struct {
	Events   *usecase.GroupEvents
	Receipts *usecase.Receipts
}

// maxGroupEventRequest bounds a group event (10,000 user ids twice fit).
const maxGroupEventRequest = 1 << 20

// RegisterGroups mounts the group routes on api (the /internal/v1 group):
// groupsvc's events (groupapi.PathGroupEvents, services only: it lies
// outside every relayed prefix) and the readers of a group message, under
// /messages, which gateways relay to signed-in users.
func RegisterGroups(api *gin.RouterGroup, uc GroupUseCases) {
	api.POST(strings.TrimPrefix(groupapi.PathGroupEvents, "/internal/v1"), uc.groupEvent)
	rest := api.Group("/messages", kit.ReadIdentity(), kit.RequireUser())
	rest.GET("/conversations/:conversation/messages/:message/readers", uc.readers)
}

func (uc GroupUseCases) groupEvent(c *gin.Context) {
	var ev groupapi.GroupEvent
	if err := kit.BindJSON(c, maxGroupEventRequest, &ev); err != nil {
		kit.AbortWithError(c, err)
		return
	}
	res, err := uc.Events.Post(c.Request.Context(), ev)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, res)
}

func (uc GroupUseCases) readers(c *gin.Context) {
	id, _ := kit.IdentityFrom(c.Request.Context())
	conv, err := protocol.ParseConversationID(c.Param("conversation"))
	if _, group := conv.Group(); err != nil || !group {
		kit.AbortWithError(c, errs.New(errs.InvalidArgument, "conversation: not a group conversation id").WithDetail("field", "conversation"))
		return
	}
	msg, err := ids.Parse(c.Param("message"))
	if err != nil || msg <= 0 {
		kit.AbortWithError(c, errs.New(errs.InvalidArgument, "message: not a message id").WithDetail("field", "message"))
		return
	}
	out, err := uc.Receipts.GroupReaders(c.Request.Context(), id.UserID, conv, msg)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}
