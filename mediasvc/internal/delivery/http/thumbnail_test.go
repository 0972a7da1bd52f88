package http_test

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strconv"
	"testing"
)

func gradient(w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), 128, uint8(128 + x%128)})
		}
	}
	return img
}

func pngImage(t testing.TB, w, h int) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, gradient(w, h)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegImage(t testing.TB, w, h int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, gradient(w, h), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestThumbnailOfPNGAndJPEG200(t *testing.T) {
	for _, backend := range []string{local, minIO} {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, withBackend(backend))
			alice := newUser()
			for name, c := range map[string]struct {
				data       []byte
				mime       string
				w, h       int
				thumbW, th int
			}{
				"png":  {pngImage(t, 800, 600), "image/png", 800, 600, 320, 240},
				"jpeg": {jpegImage(t, 300, 900), "image/jpeg", 300, 900, 106, 320},
			} {
				r := e.call("POST", "?name="+name, as(alice), raw(c.data))
				check(t, r, 201, "")
				if r.str("media", "mime") != c.mime || r.str("media", "width") != strconv.Itoa(c.w) ||
					r.str("media", "height") != strconv.Itoa(c.h) || r.str("media", "has_thumbnail") != "true" {
					t.Fatalf("%s: media = %s", name, r.raw)
				}
				status, thumb, h := e.fetch(e.call("GET", "/"+r.str("media", "id")+"/thumbnail", as(alice)))
				if status != 200 || h.Get("Content-Type") != "image/jpeg" {
					t.Fatalf("%s: thumbnail %d %v", name, status, h)
				}
				cfg, err := jpeg.DecodeConfig(bytes.NewReader(thumb))
				if err != nil || cfg.Width != c.thumbW || cfg.Height != c.th {
					t.Fatalf("%s: thumbnail %d×%d, %v; want %d×%d", name, cfg.Width, cfg.Height, err, c.thumbW, c.th)
				}
			}
			if got := e.metric(`mediasvc_thumbnails_total{outcome="ok"}`); got != "2" {
				t.Fatalf("thumbnails ok = %q", got)
			}
		})
	}
}

func TestThumbnailOfANonImage404AndOfABrokenImageToo(t *testing.T) {
	e := newEnv(t)
	alice := newUser()
	id := e.upload(alice, textOf(100), "")
	check(t, e.call("GET", "/"+id+"/thumbnail", as(alice)), 404, "not_found")
	// PNG magic, then garbage: stored (the bytes are the user's), without dimensions or thumbnail.
	broken := append([]byte("\x89PNG\r\n\x1a\n"), randomBytes(2000)...)
	r := e.call("POST", "", as(alice), raw(broken))
	check(t, r, 201, "")
	if r.str("media", "mime") != "image/png" || r.str("media", "width") != "" || r.str("media", "has_thumbnail") != "false" {
		t.Fatalf("broken image = %s", r.raw)
	}
	check(t, e.call("GET", "/"+r.str("media", "id")+"/thumbnail", as(alice)), 404, "not_found")
}
