package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/messagesvc/internal/usecase"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/messageapi"
)

// receipts records a batch of coalesced acknowledgements from receiptsvc;
// each item succeeds or fails on its own.
func (uc UseCases) receipts(c *gin.Context) {
	var req messageapi.ReceiptsRequest
	if err := kit.BindJSON(c, 4<<20, &req); err != nil {
		kit.AbortWithError(c, err)
		return
	}
	if len(req.Items) > messageapi.MaxReceiptItems {
		kit.AbortWithError(c, errs.Newf(errs.LimitExceeded, "%d items, max %d", len(req.Items), messageapi.MaxReceiptItems))
		return
	}
	res := messageapi.ReceiptsResponse{Results: make([]messageapi.ReceiptResult, len(req.Items))}
	for i, it := range req.Items {
		err := uc.receipt(c, it)
		if err != nil {
			_, body := kit.ToBody(err)
			res.Results[i].Error = &body.Error
		}
	}
	c.JSON(http.StatusOK, res)
}

func (uc UseCases) receipt(c *gin.Context, it messageapi.ReceiptItem) error {
	if it.UserID <= 0 || it.DeviceID == "" || !it.ConversationID.Valid() {
		return errs.New(errs.InvalidArgument, "user_id, device_id and conversation_id are required")
	}
	dev := usecase.Sender{UserID: it.UserID, DeviceID: it.DeviceID}
	switch it.Kind {
	case messageapi.KindReceived:
		if len(it.MessageIDs) == 0 || len(it.MessageIDs) > uc.Limits.MaxAckIDs*4 {
			return errs.New(errs.InvalidArgument, "message_ids: 1 or more, within limits")
		}
		return uc.Receipts.Received(c.Request.Context(), dev, it.ConversationID, it.MessageIDs, it.Cursor)
	case messageapi.KindRead:
		if it.UpTo <= 0 {
			return errs.New(errs.InvalidArgument, "up_to is required")
		}
		return uc.Receipts.Read(c.Request.Context(), dev, it.ConversationID, it.UpTo)
	}
	return errs.Newf(errs.InvalidArgument, "kind %q: want received or read", it.Kind)
}
