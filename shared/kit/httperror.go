package kit

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/shared/errs"
)

// ErrorBody is the JSON body of every HTTP error response.
type ErrorBody struct {
	Error ErrorPayload `json:"error"`
}

// ErrorPayload carries the code and the client-safe message.
type ErrorPayload struct {
	Code         errs.Code         `json:"code"`
	Message      string            `json:"message"`
	Retryable    bool              `json:"retryable"`
	RetryAfterMs int64             `json:"retry_after_ms,omitempty"`
	Details      map[string]string `json:"details,omitempty"`
}

// ToBody converts err to the response body and status: the one place where
// error codes become HTTP. Errors without a code become a generic internal
// error, so internal messages never reach a client.
func ToBody(err error) (int, ErrorBody) {
	e, ok := errs.As(err)
	if !ok {
		code := errs.CodeOf(err)
		e = &errs.Error{Code: code, Message: genericMessage(code)}
	}
	return e.Code.HTTPStatus(), ErrorBody{Error: ErrorPayload{
		Code: e.Code, Message: e.Message, Retryable: e.Code.Retryable(),
		RetryAfterMs: e.RetryAfterMs, Details: e.Details,
	}}
}

func genericMessage(code errs.Code) string {
	switch code {
	case errs.DeadlineExceeded:
		return "timed out, try again"
	case errs.Unavailable:
		return "temporarily unavailable, try again"
	}
	return "internal error"
}

// AbortWithError writes err as the response and stops the handler chain.
// Server-side faults are logged with their cause.
func AbortWithError(c *gin.Context, err error) {
	status, body := ToBody(err)
	if status >= 500 {
		slog.Default().Warn("request failed", slog.String("route", c.FullPath()),
			slog.String("code", string(body.Error.Code)), slog.Any("err", err))
	}
	if body.Error.RetryAfterMs > 0 {
		c.Header("Retry-After", strconv.FormatInt((body.Error.RetryAfterMs+999)/1000, 10))
	}
	c.AbortWithStatusJSON(status, body)
}

// DecodeError reads an error response from a peer service back into an
// *errs.Error, so a code crosses service hops unchanged. A body that is not
// ours (a proxy page) is classified by status alone.
func DecodeError(resp *http.Response) *errs.Error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body ErrorBody
	if err := json.Unmarshal(data, &body); err == nil && errs.Known(body.Error.Code) {
		return &errs.Error{Code: body.Error.Code, Message: body.Error.Message,
			Details: body.Error.Details, RetryAfterMs: body.Error.RetryAfterMs}
	}
	code := errs.FromHTTPStatus(resp.StatusCode)
	return errs.Newf(code, "peer answered %d", resp.StatusCode)
}

// BindJSON decodes the request body into v, rejecting unknown fields,
// trailing data and bodies above maxBytes with invalid_argument or
// payload_too_large.
func BindJSON(c *gin.Context, maxBytes int64, v any) error {
	body := http.MaxBytesReader(c.Writer, c.Request.Body, maxBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errs.Newf(errs.PayloadTooLarge, "request body above %d bytes", maxBytes)
		}
		return errs.Newf(errs.InvalidArgument, "malformed JSON body: %v", err)
	}
	if dec.More() {
		return errs.New(errs.InvalidArgument, "malformed JSON body: trailing data")
	}
	return nil
}
