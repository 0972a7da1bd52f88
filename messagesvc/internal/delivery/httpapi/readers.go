package httpapi

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/messagesvc/internal/usecase"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/mediaapi"
	"github.com/parleychat/parley/shared/protocol"
)

// RegisterReaders mounts mediasvc's question (shared/mediaapi
// PathMessageReaders). It lies outside /internal/v1/messages, which the
// gateway relays to the public: only services reach it.
func RegisterReaders(api *gin.RouterGroup, readers *usecase.MessageReaders) {
	api.POST(strings.TrimPrefix(mediaapi.PathMessageReaders, "/internal/v1"), func(c *gin.Context) {
		var req mediaapi.ReadersRequest
		if err := kit.BindJSON(c, 64<<10, &req); err != nil {
			kit.AbortWithError(c, err)
			return
		}
		refs := make([]usecase.MessageRef, len(req.Messages))
		for i, m := range req.Messages {
			refs[i] = usecase.MessageRef{Conversation: protocol.ConversationID(m.ConversationID), MessageID: m.MessageID}
		}
		ok, err := readers.CanRead(c.Request.Context(), req.UserID, req.MediaID, refs)
		if err != nil {
			kit.AbortWithError(c, err)
			return
		}
		c.JSON(http.StatusOK, mediaapi.ReadersResponse{CanRead: ok})
	})
}
