package httpapi

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/protocol"
)

func (uc UseCases) listConversations(c *gin.Context) {
	id, _ := kit.IdentityFrom(c.Request.Context())
	before, err := optionalID(c, "before")
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	limit, err := optionalInt(c, "limit", 30)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	items, err := uc.Conversations.List(c.Request.Context(), id.UserID, before, limit)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"conversations": items})
}

func (uc UseCases) history(c *gin.Context) {
	id, _ := kit.IdentityFrom(c.Request.Context())
	conv, err := protocol.ParseConversationID(c.Param("conversation"))
	if err != nil {
		kit.AbortWithError(c, errs.New(errs.InvalidArgument, "conversation: not a conversation id"))
		return
	}
	before, err1 := optionalID(c, "before")
	after, err2 := optionalID(c, "after")
	limit, err3 := optionalInt(c, "limit", 0)
	for _, e := range []error{err1, err2, err3} {
		if e != nil {
			kit.AbortWithError(c, e)
			return
		}
	}
	f := &protocol.History{ConversationID: conv, Before: protocol.MessageID(before), After: protocol.MessageID(after), Limit: limit}
	f.ID = "rest"
	if err := f.Validate(uc.Limits); err != nil {
		kit.AbortWithError(c, err)
		return
	}
	page, err := uc.History.Page(c.Request.Context(), id.UserID, f)
	if err != nil {
		kit.AbortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"conversation_id": conv, "messages": page.Messages, "more": page.More})
}

func optionalID(c *gin.Context, name string) (ids.ID, error) {
	raw := c.Query(name)
	if raw == "" {
		return 0, nil
	}
	id, err := ids.Parse(raw)
	if err != nil {
		return 0, errs.Newf(errs.InvalidArgument, "%s: not an id", name).WithDetail("field", name)
	}
	return id, nil
}

func optionalInt(c *gin.Context, name string, def int) (int, error) {
	raw := c.Query(name)
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 0 {
		return 0, errs.Newf(errs.InvalidArgument, "%s: not a non-negative number", name).WithDetail("field", name)
	}
	return n, nil
}
