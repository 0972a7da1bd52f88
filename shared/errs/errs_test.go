package errs

import (
	"context"
	"fmt"
	"net/http"
	"testing"
)

func TestEveryCodeHasARow(t *testing.T) {
	for _, c := range Codes() {
		if !Known(c) {
			t.Errorf("code %s has no table row", c)
		}
		if s := Lookup(c); s.HTTPStatus < 400 || s.Close == 0 {
			t.Errorf("code %s: incomplete row %+v", c, s)
		}
	}
	if len(Codes()) != len(table) {
		t.Errorf("Codes() lists %d codes, table has %d", len(Codes()), len(table))
	}
}

func TestOnlyTransientCodesAreRetryable(t *testing.T) {
	want := map[Code]bool{Unavailable: true, DeadlineExceeded: true, RateLimited: true}
	for _, c := range Codes() {
		if c.Retryable() != want[c] {
			t.Errorf("%s retryable = %v", c, c.Retryable())
		}
	}
}

func TestCloseCodesTellWhetherToReconnect(t *testing.T) {
	for _, c := range CloseCodes() {
		if Close(c).Reason == "unknown" {
			t.Errorf("close code %d not in table", c)
		}
	}
	if !Close(CloseDrain).Reconnect || !Close(CloseSlowConsumer).Reconnect {
		t.Error("drain and slow-consumer closes must tell the client to reconnect")
	}
	if Close(CloseRevoked).Reconnect || Close(CloseUnauthenticated).Reconnect {
		t.Error("revoked/unauthenticated closes must be terminal")
	}
}

func TestCodeOfFindsWrappedErrorsAndContextFaults(t *testing.T) {
	e := New(NotFound, "no such user")
	if CodeOf(fmt.Errorf("lookup: %w", e)) != NotFound {
		t.Error("wrapped code lost")
	}
	if CodeOf(fmt.Errorf("x: %w", context.DeadlineExceeded)) != DeadlineExceeded {
		t.Error("deadline not mapped")
	}
	if CodeOf(fmt.Errorf("plain")) != Internal {
		t.Error("plain error not internal")
	}
	if CodeOf(nil) != "" {
		t.Error("nil error has a code")
	}
}

func TestFromHTTPStatusInvertsTheTable(t *testing.T) {
	for status, want := range map[int]Code{
		http.StatusBadRequest: InvalidArgument, http.StatusNotFound: NotFound,
		http.StatusServiceUnavailable: Unavailable, http.StatusBadGateway: Unavailable,
		http.StatusTooManyRequests: RateLimited, http.StatusUnauthorized: Unauthenticated, 418: Internal,
	} {
		if got := FromHTTPStatus(status); got != want {
			t.Errorf("FromHTTPStatus(%d) = %s, want %s", status, got, want)
		}
	}
}
