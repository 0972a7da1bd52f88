// Package publicapi relays the public HTTP API to the internal services.
// Clients never reach an internal listener: the gateway verifies the user's
// access token, replaces it with the verified identity in X-Parley-*
// headers, and calls the service with its own service token.
package publicapi

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/shared/authtoken"
	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/kit"
)

// Identity headers a service trusts only on service-authenticated calls.
const (
	HeaderUserID     = kit.HeaderUserID
	HeaderDeviceID   = kit.HeaderDeviceID
	HeaderRoles      = kit.HeaderRoles
	HeaderClientAddr = kit.HeaderClientAddr
)

// Verifier checks access tokens.
type Verifier interface {
	Verify(ctx context.Context, token string) (authtoken.Claims, error)
}

// Route maps a public path prefix to a service's internal prefix.
type Route struct {
	// Public is the prefix clients call, e.g. "/api/v1/auth".
	Public string
	// Target is the service's base URL, e.g. "http://127.0.0.1:7101".
	Target string
	// Internal replaces Public in the forwarded path, e.g. "/internal/v1/auth".
	Internal string
	// MaxBody bounds the request body.
	MaxBody int64
}

// Register mounts every route on e, forwarding through rt (a svcauth.Transport).
func Register(e *gin.Engine, routes []Route, verifier Verifier, rt http.RoundTripper) error {
	for _, r := range routes {
		target, err := url.Parse(r.Target)
		if err != nil || target.Host == "" {
			return errs.Newf(errs.InvalidArgument, "route %s: bad target %q", r.Public, r.Target)
		}
		proxy := newProxy(r, target, rt)
		handler := func(c *gin.Context) {
			if hasDotSegment(c.Request.URL.Path) {
				// The service gets this path with the gateway's service
				// token: one hop that resolved "..", even one spelled
				// %2e%2e or ..%2f, would let it escape the route's prefix.
				kit.AbortWithError(c, errs.New(errs.InvalidArgument, "path must not contain . or .. segments"))
				return
			}
			if !identify(c, verifier) {
				return
			}
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, r.MaxBody)
			proxy.ServeHTTP(c.Writer, c.Request)
		}
		e.Any(r.Public, handler)
		e.Any(strings.TrimRight(r.Public, "/")+"/*rest", handler)
	}
	return nil
}

func newProxy(r Route, target *url.URL, rt http.RoundTripper) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Transport: rt,
		Rewrite: func(pr *httputil.ProxyRequest) {
			path := r.Internal + strings.TrimPrefix(pr.In.URL.Path, r.Public)
			pr.Out.URL.Scheme, pr.Out.URL.Host = target.Scheme, target.Host
			pr.Out.URL.Path, pr.Out.URL.RawPath = path, ""
			pr.Out.Host = target.Host
			// The user's token stays at the edge: the service gets the
			// verified identity and the gateway's service token instead.
			pr.Out.Header.Del("Authorization")
			// Services trust X-Parley-* headers on service-authenticated
			// calls, so none from the client gets through, whatever its
			// name; identify's X-Verified-* bookkeeping stays here too.
			for h := range pr.Out.Header {
				lh := strings.ToLower(h)
				if strings.HasPrefix(lh, "x-parley-") || strings.HasPrefix(lh, strings.ToLower(verified)) {
					delete(pr.Out.Header, h)
				}
			}
			for _, h := range []string{HeaderUserID, HeaderDeviceID, HeaderRoles, HeaderClientAddr} {
				if v := pr.In.Header.Get(verified + h); v != "" {
					pr.Out.Header.Set(h, v)
				}
			}
		},
		ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
			code := errs.Unavailable
			if strings.Contains(err.Error(), "request body too large") {
				code = errs.PayloadTooLarge
			}
			status, body := kit.ToBody(errs.Wrap(err, code, "service temporarily unavailable, try again"))
			if code == errs.PayloadTooLarge {
				status, body = kit.ToBody(errs.New(code, "request body too large"))
			}
			writeJSON(w, status, body)
		},
	}
}

// verified prefixes headers set by identify, so a client cannot smuggle
// identity headers through: Rewrite copies only the verified ones.
const verified = "X-Verified-"

// identify verifies a bearer token if one is present and records the
// identity for Rewrite. An invalid token is refused here; a missing token
// passes (the service decides whether the route needs one).
func identify(c *gin.Context, verifier Verifier) bool {
	for _, h := range []string{HeaderUserID, HeaderDeviceID, HeaderRoles, HeaderClientAddr} {
		c.Request.Header.Del(verified + h)
	}
	if host, _, err := net.SplitHostPort(c.Request.RemoteAddr); err == nil {
		c.Request.Header.Set(verified+HeaderClientAddr, host)
	}
	auth := c.Request.Header.Get("Authorization")
	if auth == "" {
		return true
	}
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		kit.AbortWithError(c, errs.New(errs.Unauthenticated, "Authorization must be a Bearer access token"))
		return false
	}
	claims, err := verifier.Verify(c.Request.Context(), strings.TrimSpace(token))
	if err != nil {
		kit.AbortWithError(c, err)
		return false
	}
	c.Request.Header.Set(verified+HeaderUserID, claims.UserID.String())
	c.Request.Header.Set(verified+HeaderDeviceID, claims.DeviceID)
	c.Request.Header.Set(verified+HeaderRoles, strings.Join(claims.Roles, ","))
	return true
}

// hasDotSegment reports whether the decoded path has a "." or ".." segment.
func hasDotSegment(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, body kit.ErrorBody) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
