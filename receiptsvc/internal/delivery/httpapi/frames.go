// Package httpapi serves receiptsvc's internal frames endpoint: received
// and read frames relayed by gateways.
package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/receiptsvc/internal/usecase"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/frameapi"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/messageapi"
	"github.com/parleychat/parley/shared/protocol"
)

// Register mounts the frames endpoint on api (the /internal/v1 group).
func Register(api *gin.RouterGroup, c *usecase.Coalescer, limits protocol.Limits) {
	api.POST(frameapi.Path[len("/internal/v1"):], func(ctx *gin.Context) {
		var req frameapi.Request
		if err := kit.BindJSON(ctx, 256<<10, &req); err != nil {
			kit.AbortWithError(ctx, err)
			return
		}
		item, err := toItem(req, limits)
		if err != nil {
			kit.AbortWithError(ctx, err)
			return
		}
		if err := c.Submit(ctx.Request.Context(), item); err != nil {
			kit.AbortWithError(ctx, err)
			return
		}
		ctx.JSON(http.StatusOK, frameapi.Response{})
	})
}

// toItem validates the relayed frame and turns it into an acknowledgement
// of the verified user and device.
func toItem(req frameapi.Request, limits protocol.Limits) (messageapi.ReceiptItem, error) {
	if req.UserID <= 0 || req.DeviceID == "" {
		return messageapi.ReceiptItem{}, errs.New(errs.InvalidArgument, "user_id and device_id are required")
	}
	frame, err := protocol.Decode(req.Frame, limits)
	if err != nil {
		return messageapi.ReceiptItem{}, err
	}
	item := messageapi.ReceiptItem{UserID: req.UserID, DeviceID: req.DeviceID}
	switch f := frame.(type) {
	case *protocol.Received:
		item.Kind, item.ConversationID, item.Cursor = messageapi.KindReceived, f.ConversationID, f.Cursor
		for _, id := range f.MessageIDs {
			item.MessageIDs = append(item.MessageIDs, ids.ID(id))
		}
	case *protocol.Read:
		item.Kind, item.ConversationID, item.UpTo = messageapi.KindRead, f.ConversationID, ids.ID(f.UpTo)
	default:
		return item, errs.Newf(errs.InvalidArgument, "%s frames are not handled by receiptsvc", frame.FrameType())
	}
	return item, nil
}
