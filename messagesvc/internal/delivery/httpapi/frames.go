// Package httpapi serves messagesvc's internal API: client frames relayed
// by gateways (shared/frameapi), batched acknowledgements from receiptsvc,
// and the REST endpoints of the public API relayed by gateways.
package httpapi

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/messagesvc/internal/usecase"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/frameapi"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/protocol"
)

// UseCases are the use cases the handlers call.
type UseCases struct {
	Send          *usecase.SendMessage
	Sync          *usecase.Sync
	History       *usecase.History
	Typing        *usecase.Typing
	Receipts      *usecase.Receipts
	Conversations *usecase.Conversations
	Limits        protocol.Limits
}

// maxFrameRequest bounds a relayed frame with its envelope.
const maxFrameRequest = 256 << 10

// Register mounts the routes on api (the /internal/v1 group).
func Register(api *gin.RouterGroup, uc UseCases) {
	api.POST(frameapi.Path[len("/internal/v1"):], uc.frame)
	api.POST("/receipts", uc.receipts)
	rest := api.Group("/messages", kit.ReadIdentity(), kit.RequireUser())
	rest.GET("/conversations", uc.listConversations)
	rest.GET("/conversations/:conversation/history", uc.history)
}

// frame handles one client frame relayed by a gateway. The identity comes
// from the request (the gateway verified the token), never from the frame.
func (uc UseCases) frame(c *gin.Context) {
	var req frameapi.Request
	if err := kit.BindJSON(c, maxFrameRequest, &req); err != nil {
		kit.AbortWithError(c, err)
		return
	}
	if req.UserID <= 0 || req.DeviceID == "" {
		kit.AbortWithError(c, errs.New(errs.InvalidArgument, "user_id and device_id are required"))
		return
	}
	frame, err := protocol.Decode(req.Frame, uc.Limits)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	reply, err := uc.dispatch(c.Request.Context(), usecase.Sender{UserID: req.UserID, DeviceID: req.DeviceID}, frame)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	var res frameapi.Response
	if reply != nil {
		res.Reply = protocol.Encode(reply)
	}
	c.JSON(http.StatusOK, res)
}

func (uc UseCases) dispatch(ctx context.Context, dev usecase.Sender, frame protocol.Frame) (protocol.Frame, error) {
	switch f := frame.(type) {
	case *protocol.Send:
		return nilIfErr(uc.Send.Send(ctx, dev, f))
	case *protocol.Sync:
		return nilIfErr(uc.Sync.Page(ctx, dev, f))
	case *protocol.History:
		return nilIfErr(uc.History.Page(ctx, dev.UserID, f))
	case *protocol.Typing:
		return nil, uc.Typing.Relay(ctx, dev.UserID, f)
	case *protocol.Received:
		return nil, uc.Receipts.Received(ctx, dev, f.ConversationID, toIDs(f.MessageIDs), f.Cursor)
	case *protocol.Read:
		return nil, uc.Receipts.Read(ctx, dev, f.ConversationID, ids.ID(f.UpTo))
	}
	return nil, errs.Newf(errs.InvalidArgument, "%s frames are not handled by messagesvc", frame.FrameType())
}

// nilIfErr keeps a typed nil pointer from becoming a non-nil interface.
func nilIfErr[F protocol.Frame](f F, err error) (protocol.Frame, error) {
	if err != nil {
		return nil, err
	}
	return f, nil
}

func toIDs(v []protocol.MessageID) []ids.ID {
	out := make([]ids.ID, len(v))
	for i, id := range v {
		out[i] = ids.ID(id)
	}
	return out
}
