package protocol

import (
	"fmt"
	"strconv"

	"github.com/parleychat/parley/shared/errs"
)

// checker collects the first validation failure of one frame. Messages name
// the field as "<type>.<field>" and say what was wrong and what is allowed,
// since they reach client developers verbatim.
type checker struct {
	frame string
	lim   Limits
	err   *errs.Error
}

// newChecker starts validating a client frame; every client frame is a
// request, so its id is checked first.
func newChecker(f Frame, lim Limits) checker {
	c := checker{frame: f.FrameType(), lim: lim}
	c.requestID(f.FrameHeader().ID)
	return c
}

func (c *checker) result() error {
	if c.err == nil {
		return nil // not a typed nil *errs.Error
	}
	return c.err
}

func (c *checker) fail(code errs.Code, field, format string, args ...any) *errs.Error {
	if c.err != nil {
		return nil
	}
	c.err = errs.Newf(code, c.frame+"."+field+": "+format, args...).WithDetail("field", c.frame+"."+field)
	return c.err
}

func (c *checker) required(field string, present bool) {
	if !present {
		c.fail(errs.InvalidArgument, field, "required")
	}
}

// overLimit reports n above max, naming the Limits field (its JSON name) so a
// client can match it with the welcome frame.
func (c *checker) overLimit(code errs.Code, field, limit string, n, max int, unit string) {
	if n <= max {
		return
	}
	if e := c.fail(code, field, "%d %s, max %d", n, unit, max); e != nil {
		e.WithDetail("limit", limit).WithDetail("max", strconv.Itoa(max))
	}
}

func (c *checker) requestID(id string) {
	if id == "" {
		c.fail(errs.InvalidArgument, "id", "required: every client frame is a request and needs an id")
		return
	}
	c.token("id", "max_request_id_len", id, c.lim.MaxRequestIDLen)
}

// token checks a client-chosen opaque string: bounded, printable ASCII
// without spaces, so it is safe to log and to use as a storage key.
func (c *checker) token(field, limit, s string, max int) {
	c.overLimit(errs.InvalidArgument, field, limit, len(s), max, "bytes")
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			c.fail(errs.InvalidArgument, field, "byte %#02x at offset %d; want printable ASCII without spaces", s[i], i)
			return
		}
	}
}

func (c *checker) conversation(id ConversationID) {
	// Decode already rejected malformed ids; this catches frames built in Go.
	switch {
	case id == "":
		c.required("conversation_id", false)
	case !id.Valid():
		c.fail(errs.InvalidArgument, "conversation_id", "%s is not d:<low user id>:<high user id> or g:<group id>",
			strconv.Quote(truncate(string(id), 64)))
	}
}

func (c *checker) pageSize(limit int) {
	if limit < 0 || limit > c.lim.MaxPageSize {
		if e := c.fail(errs.InvalidArgument, "limit", "%d out of range 0..%d (0 means %d)", limit, c.lim.MaxPageSize, c.lim.DefaultPageSize); e != nil {
			e.WithDetail("limit", "max_page_size").WithDetail("max", strconv.Itoa(c.lim.MaxPageSize))
		}
	}
}

// checkIDs rejects zero or negative ids. Decode never produces them; frames
// built in Go can.
func checkIDs[T ~int64](c *checker, field string, vs []T) {
	for i, v := range vs {
		if v <= 0 {
			c.fail(errs.InvalidArgument, fmt.Sprintf("%s[%d]", field, i), "must be a non-zero id")
			return
		}
	}
}
