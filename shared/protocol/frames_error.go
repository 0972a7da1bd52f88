package protocol

import (
	"maps"

	"github.com/parleychat/parley/shared/errs"
)

// Error reports that a request failed (ID echoes it) or, with no ID, that
// something not tied to a request went wrong. Code is from the errs table;
// Message is for people, Code and Details are for programs.
type Error struct {
	Header
	Code         errs.Code         `json:"code"`
	Message      string            `json:"message"`
	Retryable    bool              `json:"retryable"`
	RetryAfterMs int64             `json:"retry_after_ms,omitempty"`
	Details      map[string]string `json:"details,omitempty"`
}

func (*Error) FrameType() string { return TypeError }

func (f *Error) appendFields(dst []byte) []byte {
	dst = stringField(dst, "code", string(f.Code))
	dst = stringField(dst, "message", f.Message)
	dst = boolField(dst, "retryable", f.Retryable)
	dst = optIntField(dst, "retry_after_ms", f.RetryAfterMs)
	return stringMapField(dst, "details", f.Details)
}

// Err turns a received error frame back into an *errs.Error, for Go clients.
func (f *Error) Err() *errs.Error {
	return &errs.Error{Code: f.Code, Message: f.Message, Details: maps.Clone(f.Details), RetryAfterMs: f.RetryAfterMs}
}

// genericMessages are what a client sees when the real message must stay in
// the process: for internal errors and for errors that are not *errs.Error.
var genericMessages = map[errs.Code]string{
	errs.Internal:         "internal error",
	errs.DeadlineExceeded: "deadline exceeded",
	errs.Unavailable:      "service unavailable",
}

// ErrorFrame builds the error frame answering request id (empty for errors
// not tied to a request). An *errs.Error keeps its code, message, details and
// retry hint; anything else, and any internal or unknown code, becomes a
// generic message so internal details never reach a client. Log err before
// calling this.
func ErrorFrame(id string, err error) *Error {
	code := errs.CodeOf(err)
	e, typed := errs.As(err)
	if !errs.Known(code) {
		code, typed = errs.Internal, false
	}
	f := &Error{Header: Header{ID: id}, Code: code, Retryable: code.Retryable()}
	if typed && code != errs.Internal {
		f.Message = e.Message
		f.Details = maps.Clone(e.Details)
		f.RetryAfterMs = max(e.RetryAfterMs, 0)
	} else {
		f.Message = genericMessages[code]
	}
	return f
}
