package kit

import (
	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/svcauth"
)

// ServiceAuth rejects requests without a valid service token with the shared
// unauthenticated error, and records the calling service in the request context.
func ServiceAuth(v *svcauth.Verifier) gin.HandlerFunc {
	return func(c *gin.Context) {
		caller, err := v.VerifyRequest(c.Request)
		if err != nil {
			AbortWithError(c, errs.New(errs.Unauthenticated, "service credentials required"))
			return
		}
		c.Request = c.Request.WithContext(svcauth.WithCaller(c.Request.Context(), caller))
		c.Next()
	}
}
