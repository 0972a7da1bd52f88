// Package account provisions the load tool's users through the public API
// (register, sign in, refresh) and caches their credentials in a file so a
// second run reuses them instead of paying for sign-ups again.
//
// A sign-in costs one Argon2id hash on authsvc (about 20 ms of CPU at the
// default cost), so 200,000 users would cost over an hour of one core. The
// cache keeps each account's device id, access token and refresh token: the
// next run uses a still-valid access token as is, renews an expiring one with
// its refresh token (no Argon2id), and signs in again only when the refresh
// token was spent (authsvc rotates it on every refresh) or revoked. A load
// environment should also run authsvc with a cheap hash and generous sign-in
// limits (-auth.argon2.memory-kib=1024 -auth.argon2.iterations=1
// -auth.ratelimit.addr-limit=1000000), which is what the chatload tests do.
package account

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley/shared/protocol"
)

// Account is one user with one device session.
type Account struct {
	Username  string          `json:"username"`
	Password  string          `json:"password"`
	UserID    protocol.UserID `json:"user_id"`
	DeviceID  string          `json:"device_id"`
	Access    string          `json:"access_token"`
	AccessExp int64           `json:"access_expires_ms"`
	Refresh   string          `json:"refresh_token"`
	mu        sync.Mutex
}

// Token returns the current access token and its expiry.
func (a *Account) Token() (string, time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.Access, time.UnixMilli(a.AccessExp)
}

// API talks to the public auth API of a gateway.
type API struct {
	base string
	http *http.Client
}

// NewAPI returns a client of base (http://host:port of a gateway) whose
// requests leave from source (may be nil).
func NewAPI(base string, source net.IP) *API {
	d := &net.Dialer{Timeout: 10 * time.Second}
	if source != nil {
		d.LocalAddr = &net.TCPAddr{IP: source}
	}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second}
	return &API{base: strings.TrimRight(base, "/"), http: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// APIError is a refused API call.
type APIError struct {
	Status       int
	Code         string
	Message      string
	RetryAfterMs int64
}

func (e *APIError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

func (a *API) call(ctx context.Context, path string, in, out any) error {
	body, _ := json.Marshal(in)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct {
				Code         string `json:"code"`
				Message      string `json:"message"`
				RetryAfterMs int64  `json:"retry_after_ms"`
			} `json:"error"`
		}
		_ = json.Unmarshal(data, &e)
		return &APIError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message, RetryAfterMs: e.Error.RetryAfterMs}
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

type session struct {
	AccessToken  string    `json:"access_token"`
	ExpiresAt    time.Time `json:"expires_at"`
	RefreshToken string    `json:"refresh_token"`
	DeviceID     string    `json:"device_id"`
	User         struct {
		ID protocol.UserID `json:"id"`
	} `json:"user"`
}

func (a *Account) apply(s session) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.Access, a.AccessExp, a.Refresh = s.AccessToken, s.ExpiresAt.UnixMilli(), s.RefreshToken
	if s.DeviceID != "" {
		a.DeviceID = s.DeviceID
	}
	if s.User.ID != 0 {
		a.UserID = s.User.ID
	}
}

// retry runs f again while the API answers rate_limited or unavailable.
func retry(ctx context.Context, f func() error) error {
	for attempt := 0; ; attempt++ {
		err := f()
		var ae *APIError
		if err == nil || !errors.As(err, &ae) || (ae.Status != 429 && ae.Status != 503) || attempt >= 20 {
			return err
		}
		wait := time.Duration(ae.RetryAfterMs) * time.Millisecond
		if wait <= 0 || wait > 5*time.Second {
			wait = time.Duration(200*(attempt+1)) * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// Register creates the account (an existing one is fine).
func (a *API) Register(ctx context.Context, acc *Account) error {
	err := retry(ctx, func() error {
		return a.call(ctx, "/api/v1/auth/register", map[string]string{"username": acc.Username,
			"password": acc.Password, "display_name": acc.Username}, nil)
	})
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusConflict {
		return nil
	}
	return err
}

// SignIn opens (or, with a known device id, replaces) the device session.
func (a *API) SignIn(ctx context.Context, acc *Account) error {
	in := map[string]string{"username": acc.Username, "password": acc.Password, "device_name": "chatload"}
	if acc.DeviceID != "" {
		in["device_id"] = acc.DeviceID
	}
	var s session
	if err := retry(ctx, func() error { return a.call(ctx, "/api/v1/auth/sign-in", in, &s) }); err != nil {
		return err
	}
	acc.apply(s)
	return nil
}

// Renew gets a fresh access token: by refresh token when there is one, by
// signing in again when it was spent or revoked.
func (a *API) Renew(ctx context.Context, acc *Account) error {
	acc.mu.Lock()
	rt := acc.Refresh
	acc.mu.Unlock()
	if rt != "" {
		var s session
		err := retry(ctx, func() error {
			return a.call(ctx, "/api/v1/auth/refresh", map[string]string{"refresh_token": rt}, &s)
		})
		if err == nil {
			acc.apply(s)
			return nil
		}
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
			return err
		}
	}
	return a.SignIn(ctx, acc)
}

// Options say which accounts a run needs.
type Options struct {
	Prefix   string
	Password string
	// Users are the indexes of the users needed (user Prefix+index).
	Users []int
	// ValidFor is how long each access token must still be valid; shorter
	// ones are renewed.
	ValidFor    time.Duration
	Concurrency int
	// Progress, when set, is called after every account.
	Progress func(done, renewed, created int)
}

// Provision returns the accounts, reusing cache entries and adding new ones
// to it. Index i of the result is user o.Users[i].
func Provision(ctx context.Context, apis []*API, cache *Cache, o Options) ([]*Account, error) {
	out := make([]*Account, len(o.Users))
	var next, done, renewed, created atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	conc := max(1, o.Concurrency)
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			api := apis[w%len(apis)]
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(o.Users) {
					return
				}
				name := o.Prefix + strconv.Itoa(o.Users[i])
				acc := cache.Get(name)
				var err error
				switch {
				case acc == nil:
					acc = &Account{Username: name, Password: o.Password}
					if err = api.Register(ctx, acc); err == nil {
						err = api.SignIn(ctx, acc)
					}
					created.Add(1)
				case time.Until(time.UnixMilli(acc.AccessExp)) < o.ValidFor || acc.UserID == 0:
					err = api.Renew(ctx, acc)
					renewed.Add(1)
				}
				if err != nil {
					select {
					case errc <- fmt.Errorf("account %s: %w", name, err):
					default:
					}
					return
				}
				cache.Put(acc)
				out[i] = acc
				d := done.Add(1)
				if o.Progress != nil {
					o.Progress(int(d), int(renewed.Load()), int(created.Load()))
				}
			}
		}(w)
	}
	wg.Wait()
	select {
	case err := <-errc:
		return nil, err
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Cache is the credentials file's content, by username.
type Cache struct {
	mu sync.Mutex
	m  map[string]*Account
}

// NewCache returns an empty cache.
func NewCache() *Cache { return &Cache{m: map[string]*Account{}} }

// Get returns the cached account or nil.
func (c *Cache) Get(name string) *Account {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[name]
}

// Put stores acc.
func (c *Cache) Put(acc *Account) {
	c.mu.Lock()
	c.m[acc.Username] = acc
	c.mu.Unlock()
}

// Len is the number of accounts.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// Load reads a cache file written by Save; a missing file is an empty cache.
func Load(path string) (*Cache, error) {
	c := NewCache()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var a Account
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		c.m[a.Username] = &a
	}
	return c, sc.Err()
}

// Save writes the cache as JSON lines (0600: it holds live credentials),
// through a temporary file so a crash never leaves half a file.
func (c *Cache) Save(path string) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	c.mu.Lock()
	for _, a := range c.m {
		a.mu.Lock()
		b, _ := json.Marshal(a)
		a.mu.Unlock()
		_, _ = w.Write(append(b, '\n'))
	}
	c.mu.Unlock()
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
