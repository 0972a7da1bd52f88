package kit

import (
	"context"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
)

// The gateway verifies a client's access token and forwards who the client
// is in these headers. They are trusted only because every route that reads
// them sits behind service authentication (ServiceAuth): only a service
// holding the internal secret can set them.
const (
	HeaderUserID     = "X-Parley-User-Id"     // decimal user id (the token's sub)
	HeaderDeviceID   = "X-Parley-Device-Id"   // device id (the token's did)
	HeaderRoles      = "X-Parley-Roles"       // comma-separated roles
	HeaderClientAddr = "X-Parley-Client-Addr" // the end client's IP address, for rate limits
)

// Identity is the end user on whose behalf a service calls.
type Identity struct {
	UserID   ids.ID
	DeviceID string
	Roles    []string
}

type identityKey struct{}
type clientAddrKey struct{}

// ReadIdentity puts the identity headers, when present, and the client
// address into the request context. A malformed identity is refused; an
// absent one is left for RequireUser to judge. Mount it only behind
// ServiceAuth.
func ReadIdentity() gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		if addr := strings.TrimSpace(c.GetHeader(HeaderClientAddr)); addr != "" {
			ctx = context.WithValue(ctx, clientAddrKey{}, addr)
		}
		if raw := c.GetHeader(HeaderUserID); raw != "" {
			id, err := ids.Parse(raw)
			device := strings.TrimSpace(c.GetHeader(HeaderDeviceID))
			if err != nil || device == "" {
				AbortWithError(c, errs.New(errs.Unauthenticated, "malformed identity headers"))
				return
			}
			ctx = context.WithValue(ctx, identityKey{}, Identity{UserID: id, DeviceID: device,
				Roles: splitRoles(c.GetHeader(HeaderRoles))})
		}
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

// RequireUser refuses requests that carry no end-user identity.
func RequireUser() gin.HandlerFunc {
	return func(c *gin.Context) {
		if _, ok := IdentityFrom(c.Request.Context()); !ok {
			AbortWithError(c, errs.New(errs.Unauthenticated, "signed-in user required"))
			return
		}
		c.Next()
	}
}

// IdentityFrom returns the identity ReadIdentity recorded.
func IdentityFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

// ClientAddrFrom returns the end client's address, or "".
func ClientAddrFrom(ctx context.Context) string {
	addr, _ := ctx.Value(clientAddrKey{}).(string)
	return addr
}

func splitRoles(h string) []string {
	var out []string
	for _, r := range strings.Split(h, ",") {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	return out
}
