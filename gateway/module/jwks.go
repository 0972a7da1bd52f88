package module

import (
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/kit"
)

// jwksRelay republishes authsvc's public keys at the standard public path,
// so third parties can verify tokens without reaching an internal listener.
func jwksRelay(authURL string, rt http.RoundTripper) gin.HandlerFunc {
	client := &http.Client{Transport: rt}
	return func(c *gin.Context) {
		req, err := http.NewRequestWithContext(c.Request.Context(), http.MethodGet, authURL+"/internal/v1/auth/jwks", nil)
		if err != nil {
			kit.AbortWithError(c, errs.Wrap(err, errs.Internal, "jwks request"))
			return
		}
		resp, err := client.Do(req)
		if err != nil {
			kit.AbortWithError(c, errs.Wrap(err, errs.Unavailable, "key service unavailable"))
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			kit.AbortWithError(c, kit.DecodeError(resp))
			return
		}
		c.Header("Cache-Control", "public, max-age=60")
		c.DataFromReader(http.StatusOK, resp.ContentLength, "application/json", io.LimitReader(resp.Body, 1<<20), nil)
	}
}
