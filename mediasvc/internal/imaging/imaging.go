// Package imaging reads image dimensions and makes thumbnails, in pure Go:
// JPEG, PNG and GIF from the standard library, WebP from golang.org/x/image,
// scaling with golang.org/x/image/draw. Decoding is bounded by a pixel
// budget checked on the header first, so a small file that claims a huge
// canvas (a decompression bomb) is never decoded.
package imaging

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	stddraw "image/draw"
	_ "image/gif" // register decoders
	"image/jpeg"
	_ "image/png"
	"io"

	"golang.org/x/image/draw"
	_ "golang.org/x/image/webp"
)

// Options bound the work.
type Options struct {
	// Size is the longest side of a thumbnail in pixels.
	Size int
	// MaxPixels is the largest width×height decoded for a thumbnail; the
	// decoded image takes about 4 bytes per pixel.
	MaxPixels int64
	// Quality is the JPEG quality of thumbnails (1–100).
	Quality int
}

// DefaultOptions are the defaults of the -media.thumbnail.* flags.
func DefaultOptions() Options { return Options{Size: 320, MaxPixels: 50_000_000, Quality: 80} }

// ErrTooManyPixels: the image is larger than Options.MaxPixels.
var ErrTooManyPixels = errors.New("imaging: image exceeds the pixel budget")

// Dimensions reads only the header of an image.
func Dimensions(r io.Reader) (width, height int, err error) {
	cfg, _, err := image.DecodeConfig(bufio.NewReader(r))
	if err != nil {
		return 0, 0, fmt.Errorf("imaging: %w", err)
	}
	return cfg.Width, cfg.Height, nil
}

// Thumbnail decodes the image in r (its width and height must be known, from
// Dimensions) and returns a JPEG of at most opt.Size pixels on its longest
// side, never upscaled, transparent areas flattened onto white.
func Thumbnail(r io.Reader, width, height int, opt Options) ([]byte, error) {
	if width <= 0 || height <= 0 {
		return nil, errors.New("imaging: unknown dimensions")
	}
	if int64(width)*int64(height) > opt.MaxPixels {
		return nil, ErrTooManyPixels
	}
	src, _, err := image.Decode(bufio.NewReader(r))
	if err != nil {
		return nil, fmt.Errorf("imaging: %w", err)
	}
	b := src.Bounds()
	if int64(b.Dx())*int64(b.Dy()) > opt.MaxPixels {
		return nil, ErrTooManyPixels
	}
	tw, th := fit(b.Dx(), b.Dy(), opt.Size)
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	stddraw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, stddraw.Src)
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, b, draw.Over, nil)
	var out bytes.Buffer
	q := opt.Quality
	if q < 1 || q > 100 {
		q = 80
	}
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: q}); err != nil {
		return nil, fmt.Errorf("imaging: encode thumbnail: %w", err)
	}
	return out.Bytes(), nil
}

// fit scales w×h down to fit in a size×size box, keeping the aspect ratio
// and at least one pixel per side.
func fit(w, h, size int) (int, int) {
	if w <= size && h <= size {
		return w, h
	}
	if w >= h {
		return size, max(1, int(int64(h)*int64(size)/int64(w)))
	}
	return max(1, int(int64(w)*int64(size)/int64(h))), size
}
