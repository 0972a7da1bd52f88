// Package internalapi serves the gateway's internal endpoints: the router's
// pushes and the ops drain command.
package internalapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/kit"
	"github.com/parleychat/parley/shared/routerapi"
)

// maxPushBody bounds one push batch.
const maxPushBody = 16 << 20

// Pusher writes a batch to local connections.
type Pusher interface {
	Push(batch routerapi.PushBatch) routerapi.PushResult
}

// Register mounts the internal routes on api (the /internal/v1 group).
// drain starts a drain in the background and reports whether it started now.
func Register(api *gin.RouterGroup, pusher Pusher, drain func() bool) {
	api.POST(routerapi.PathPush[len("/internal/v1"):], func(c *gin.Context) {
		var batch routerapi.PushBatch
		if err := kit.BindJSON(c, maxPushBody, &batch); err != nil {
			kit.AbortWithError(c, err)
			return
		}
		for i, it := range batch.Items {
			if len(it.Frame) == 0 {
				kit.AbortWithError(c, errs.Newf(errs.InvalidArgument, "items[%d].frame is empty", i))
				return
			}
		}
		c.JSON(http.StatusOK, pusher.Push(batch))
	})
	api.POST("/admin/drain", func(c *gin.Context) {
		started := drain()
		c.JSON(http.StatusAccepted, gin.H{"draining": true, "started_now": started})
	})
}
