// Package webui serves the web client on the gateway's public listener:
// same origin as the WebSocket and the API, so the page needs no CORS and
// the origin allow-list accepts it.
package webui

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// Handler serves the client's files with an ETag each, revalidated on every
// load (no-cache): there is no build step to put hashes in file names, and
// a 304 costs one round trip.
type Handler struct {
	files map[string]file
	// live re-reads every file from fsys on each request (development:
	// edit and reload without rebuilding the gateway).
	live fs.FS
	// extra are origins media downloads may be redirected to (S3's public
	// endpoint when mediasvc hands out presigned URLs); the CSP lets the
	// page fetch from them.
	extra []string
}

// AllowMediaOrigins lets the page fetch media from these origins
// (scheme://host[:port] each).
func (h *Handler) AllowMediaOrigins(origins []string) {
	for _, o := range origins {
		if originRe.MatchString(o) {
			h.extra = append(h.extra, o)
		}
	}
}

type file struct {
	body []byte
	etag string
	ctyp string
}

// NewLive serves the files of a directory as they are at each request.
func NewLive(dir string) (*Handler, error) {
	h, err := New(os.DirFS(dir))
	if err != nil {
		return nil, err
	}
	h.live = os.DirFS(dir)
	return h, nil
}

// New indexes every file of fsys (index.html at its root).
func New(fsys fs.FS) (*Handler, error) {
	h := &Handler{files: map[string]file{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasSuffix(p, ".go") {
			return nil
		}
		f, err := load(fsys, p)
		if err != nil {
			return err
		}
		h.files["/"+p] = f
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, ok := h.files["/index.html"]; !ok {
		return nil, fmt.Errorf("webui: no index.html")
	}
	return h, nil
}

func load(fsys fs.FS, p string) (file, error) {
	body, err := fs.ReadFile(fsys, p)
	if err != nil {
		return file{}, err
	}
	sum := sha256.Sum256(body)
	ctyp := mime.TypeByExtension(path.Ext(p))
	switch path.Ext(p) { // not left to the OS's MIME table
	case ".js":
		ctyp = "text/javascript; charset=utf-8"
	case ".md":
		ctyp = "text/markdown; charset=utf-8"
	case ".svg":
		ctyp = "image/svg+xml"
	}
	if ctyp == "" {
		ctyp = "application/octet-stream"
	}
	return file{body: body, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`, ctyp: ctyp}, nil
}

// Mount registers the client's routes: the page at /, its scripts and
// styles under /app/, the SDK under /sdk/.
func (h *Handler) Mount(r gin.IRoutes) {
	serve := func(c *gin.Context) { h.ServeHTTP(c.Writer, c.Request) }
	for _, p := range []string{"/", "/favicon.svg", "/app/*path", "/sdk/*path"} {
		r.GET(p, serve)
		r.HEAD(p, serve)
	}
}

// hostRe is what a Host may look like to be named in the CSP (anything else
// could smuggle directives in).
var hostRe = regexp.MustCompile(`^[A-Za-z0-9.\-]+(:[0-9]+)?$|^\[[0-9A-Fa-f:.]+\](:[0-9]+)?$`)

var originRe = regexp.MustCompile(`^https?://([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]+)?$`)

// ServeHTTP serves one file.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := path.Clean(r.URL.Path)
	if p == "/" {
		p = "/index.html"
	}
	f, ok := h.files[p]
	if h.live != nil && !strings.HasSuffix(p, ".go") {
		var err error
		f, err = load(h.live, strings.TrimPrefix(p, "/"))
		ok = err == nil
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Security-Policy", CSP(r.Host, h.extra...))
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("Content-Type", f.ctyp)
	hd.Set("ETag", f.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}

// CSP is the page's Content-Security-Policy: scripts, styles and fonts from
// this origin only (no inline code, no eval), images also from blob: (media
// fetched with the user's token), connections to this origin's API and
// WebSocket (and to mediaOrigins, where downloads may be redirected), no
// frames, no plugins, forms only to this origin.
func CSP(host string, mediaOrigins ...string) string {
	connect := "'self'"
	if hostRe.MatchString(host) {
		// Older browsers do not let 'self' cover ws: and wss:.
		connect += " ws://" + host + " wss://" + host
	}
	for _, o := range mediaOrigins {
		if originRe.MatchString(o) {
			connect += " " + o
		}
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " +
		"media-src 'self' blob:; font-src 'self'; connect-src " + connect + "; manifest-src 'self'; " +
		"base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"
}
