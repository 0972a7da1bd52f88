package usecase

import (
	"context"
	"strconv"

	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/ratelimit"
)

// RateLimiter counts events per key in windows (ratelimit.Memory on one
// replica, ratelimit.Redis shared by all).
type RateLimiter interface {
	Allow(ctx context.Context, key string, limit ratelimit.Limit) (ratelimit.Decision, error)
}

// checkUploadRate counts one upload (streamed, or a presigned one being
// created) against the user's limit, before any byte is read or any record
// written. A refusal is rate_limited with the wait in retry_after_ms (and
// the HTTP Retry-After header). A limiter that cannot answer (Redis down)
// fails closed with a retryable unavailable, as authsvc's sign-in limit
// does: an outage must not lift the limit.
func (s *Service) checkUploadRate(ctx context.Context, user ids.ID) error {
	if s.RateLimiter == nil || s.cfg.UploadRate.Max <= 0 {
		return nil
	}
	d, err := s.RateLimiter.Allow(ctx, "upload:"+user.String(), s.cfg.UploadRate)
	if err != nil {
		return errs.Wrap(err, errs.Unavailable, "uploads temporarily unavailable, try again")
	}
	if d.Allowed {
		return nil
	}
	e := errs.Newf(errs.RateLimited, "too many uploads: at most %d per %s, try again later", s.cfg.UploadRate.Max, s.cfg.UploadRate.Window)
	e.RetryAfterMs = d.RetryAfter.Milliseconds()
	return e.WithDetail("retry_after_ms", strconv.FormatInt(e.RetryAfterMs, 10)).
		WithDetail("limit", strconv.Itoa(s.cfg.UploadRate.Max)).WithDetail("window", s.cfg.UploadRate.Window.String())
}
