// Package errs holds the platform's one table of error codes. Every service
// returns *Error values carrying a Code; each edge (HTTP, WebSocket) maps a
// code through this table, so a client sees the same code whatever path it took.
package errs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Code is a stable, machine-readable error code sent to clients.
type Code string

// The codes. Clients switch on these strings, so they never change meaning.
const (
	InvalidArgument    Code = "invalid_argument"
	Unauthenticated    Code = "unauthenticated"
	TokenExpired       Code = "token_expired"
	PermissionDenied   Code = "permission_denied"
	NotFound           Code = "not_found"
	AlreadyExists      Code = "already_exists"
	FailedPrecondition Code = "failed_precondition"
	LimitExceeded      Code = "limit_exceeded"
	PayloadTooLarge    Code = "payload_too_large"
	RateLimited        Code = "rate_limited"
	Unavailable        Code = "unavailable"
	DeadlineExceeded   Code = "deadline_exceeded"
	Internal           Code = "internal"
)

// CloseCode is a WebSocket close status. 4000–4999 are ours (RFC 6455 §7.4.2).
type CloseCode int

// Close codes. Reconnect says whether a well-behaved client should reconnect.
const (
	CloseNormal          CloseCode = 1000 // client asked to leave; no reconnect needed
	CloseMessageTooBig   CloseCode = 1009 // frame above the read limit
	CloseDrain           CloseCode = 4000 // gateway draining or shutting down: reconnect elsewhere after the jittered delay hint
	CloseSlowConsumer    CloseCode = 4001 // send queue overflowed: reconnect and resume from the cursor
	CloseServerError     CloseCode = 4002 // transient server fault: reconnect with backoff
	CloseTokenExpired    CloseCode = 4003 // session expired without a refresh: reconnect with a fresh access token
	CloseProtocolAbuse   CloseCode = 4004 // repeated bad frames or floods: reconnect only after backoff
	CloseUnauthenticated CloseCode = 4401 // bad or missing credentials: do not reconnect with the same token
	CloseRevoked         CloseCode = 4403 // session revoked or account disabled: do not reconnect, sign in again
	CloseOriginDenied    CloseCode = 4408 // origin not allowed: never reconnect from this origin
)

// CloseInfo describes what a close code tells the client.
type CloseInfo struct {
	Reason    string
	Reconnect bool
}

var closeTable = map[CloseCode]CloseInfo{
	CloseNormal:          {"normal", false},
	CloseMessageTooBig:   {"frame too large", true},
	CloseDrain:           {"server draining", true},
	CloseSlowConsumer:    {"client too slow", true},
	CloseServerError:     {"server error", true},
	CloseTokenExpired:    {"token expired", true},
	CloseProtocolAbuse:   {"protocol abuse", true},
	CloseUnauthenticated: {"unauthenticated", false},
	CloseRevoked:         {"session revoked", false},
	CloseOriginDenied:    {"origin not allowed", false},
}

// Close returns what a close code means; unknown codes reconnect with backoff.
func Close(code CloseCode) CloseInfo {
	if info, ok := closeTable[code]; ok {
		return info
	}
	return CloseInfo{Reason: "unknown", Reconnect: true}
}

// CloseCodes lists every close code in the table, for documentation and tests.
func CloseCodes() []CloseCode {
	return []CloseCode{CloseNormal, CloseMessageTooBig, CloseDrain, CloseSlowConsumer, CloseServerError,
		CloseTokenExpired, CloseProtocolAbuse, CloseUnauthenticated, CloseRevoked, CloseOriginDenied}
}

// Spec is one row of the table: how a code surfaces at each edge.
type Spec struct {
	HTTPStatus int
	// Retryable says the same request may succeed later unchanged (after RetryAfter, if given).
	Retryable bool
	// Close is the close code used when this error ends a WebSocket connection.
	Close CloseCode
}

var table = map[Code]Spec{
	InvalidArgument:    {http.StatusBadRequest, false, CloseProtocolAbuse},
	Unauthenticated:    {http.StatusUnauthorized, false, CloseUnauthenticated},
	TokenExpired:       {http.StatusUnauthorized, false, CloseTokenExpired},
	PermissionDenied:   {http.StatusForbidden, false, CloseRevoked},
	NotFound:           {http.StatusNotFound, false, CloseProtocolAbuse},
	AlreadyExists:      {http.StatusConflict, false, CloseProtocolAbuse},
	FailedPrecondition: {http.StatusPreconditionFailed, false, CloseProtocolAbuse},
	LimitExceeded:      {http.StatusUnprocessableEntity, false, CloseProtocolAbuse},
	PayloadTooLarge:    {http.StatusRequestEntityTooLarge, false, CloseMessageTooBig},
	RateLimited:        {http.StatusTooManyRequests, true, CloseProtocolAbuse},
	Unavailable:        {http.StatusServiceUnavailable, true, CloseServerError},
	DeadlineExceeded:   {http.StatusGatewayTimeout, true, CloseServerError},
	Internal:           {http.StatusInternalServerError, false, CloseServerError},
}

// Codes lists every code in the table, for documentation and tests.
func Codes() []Code {
	return []Code{InvalidArgument, Unauthenticated, TokenExpired, PermissionDenied, NotFound, AlreadyExists,
		FailedPrecondition, LimitExceeded, PayloadTooLarge, RateLimited, Unavailable, DeadlineExceeded, Internal}
}

// Lookup returns the row for code; an unknown code is treated as Internal.
func Lookup(code Code) Spec {
	if s, ok := table[code]; ok {
		return s
	}
	return table[Internal]
}

// Known reports whether code is in the table.
func Known(code Code) bool { _, ok := table[code]; return ok }

// HTTPStatus maps a code to its HTTP status.
func (c Code) HTTPStatus() int { return Lookup(c).HTTPStatus }

// Retryable reports whether a request that failed with c may be retried unchanged.
func (c Code) Retryable() bool { return Lookup(c).Retryable }

// FromHTTPStatus is the inverse used by service clients when a peer answered
// without a typed body (a proxy error page, say).
func FromHTTPStatus(status int) Code {
	switch {
	case status == http.StatusBadGateway || status == http.StatusServiceUnavailable:
		return Unavailable
	case status == http.StatusGatewayTimeout:
		return DeadlineExceeded
	case status == http.StatusTooManyRequests:
		return RateLimited
	}
	for _, c := range Codes() {
		if table[c].HTTPStatus == status && c != TokenExpired {
			return c
		}
	}
	return Internal
}

// Error is the error value services pass around. Message is safe to show to
// the client; Cause is for logs only and never leaves the process.
type Error struct {
	Code    Code
	Message string
	// Details carries machine-readable context a client can act on, such as
	// the limit that was hit ({"limit":"group_size","max":"256"}).
	Details map[string]string
	// RetryAfterMs hints when a retryable error is worth retrying.
	RetryAfterMs int64
	Cause        error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Cause }

// New returns an error with the given code and client-safe message.
func New(code Code, message string) *Error { return &Error{Code: code, Message: message} }

// Newf is New with formatting.
func Newf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap attaches a code and client-safe message to an internal cause.
func Wrap(cause error, code Code, message string) *Error {
	return &Error{Code: code, Message: message, Cause: cause}
}

// WithDetail returns e with one more detail set.
func (e *Error) WithDetail(key, value string) *Error {
	if e.Details == nil {
		e.Details = map[string]string{}
	}
	e.Details[key] = value
	return e
}

// As finds the *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// CodeOf returns the code of err: its *Error code, DeadlineExceeded for a
// context deadline, Unavailable for a cancelled context, Internal otherwise.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	if e, ok := As(err); ok {
		return e.Code
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return Unavailable
	}
	return Internal
}

// Is reports whether err carries code.
func Is(err error, code Code) bool { return err != nil && CodeOf(err) == code }
