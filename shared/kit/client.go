package kit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/parleychat/parley/shared/errs"
)

// Client calls another service's internal JSON API with a timeout per call
// and maps every failure to a typed error: transport faults and timeouts
// become retryable unavailable/deadline_exceeded, error bodies keep their code.
type Client struct {
	BaseURL string
	HTTP    *http.Client
	Timeout time.Duration
}

// NewClient returns a client for baseURL whose requests go through rt (a
// svcauth.Transport in production).
func NewClient(baseURL string, rt http.RoundTripper, timeout time.Duration) *Client {
	return &Client{BaseURL: baseURL, HTTP: &http.Client{Transport: rt}, Timeout: timeout}
}

// Do sends in (if non-nil) as JSON and decodes a 2xx answer into out (if non-nil).
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return errs.Wrap(err, errs.Internal, "encode request")
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return errs.Wrap(err, errs.Internal, "build request")
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return errs.Wrap(err, errs.DeadlineExceeded, "peer timed out")
		}
		return errs.Wrap(err, errs.Unavailable, "peer unreachable")
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return DecodeError(resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return errs.Wrap(fmt.Errorf("decode %s %s: %w", method, path, err), errs.Unavailable, "bad answer from peer")
	}
	return nil
}
