package imaging

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"
)

func testImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 100, 255})
		}
	}
	return img
}

func TestThumbnailOfEachFormatFitsTheBox(t *testing.T) {
	src := testImage(800, 400)
	encoders := map[string]func(*bytes.Buffer) error{
		"png":  func(b *bytes.Buffer) error { return png.Encode(b, src) },
		"jpeg": func(b *bytes.Buffer) error { return jpeg.Encode(b, src, nil) },
		"gif":  func(b *bytes.Buffer) error { return gif.Encode(b, src, nil) },
	}
	for name, enc := range encoders {
		var buf bytes.Buffer
		if err := enc(&buf); err != nil {
			t.Fatal(err)
		}
		w, h, err := Dimensions(bytes.NewReader(buf.Bytes()))
		if err != nil || w != 800 || h != 400 {
			t.Fatalf("%s: Dimensions = %d×%d, %v", name, w, h, err)
		}
		out, err := Thumbnail(bytes.NewReader(buf.Bytes()), w, h, DefaultOptions())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		th, err := jpeg.DecodeConfig(bytes.NewReader(out))
		if err != nil || th.Width != 320 || th.Height != 160 {
			t.Fatalf("%s: thumbnail %d×%d, %v", name, th.Width, th.Height, err)
		}
	}
}

func TestThumbnailNeverUpscalesAndRefusesPixelBombs(t *testing.T) {
	var buf bytes.Buffer
	_ = png.Encode(&buf, testImage(10, 30))
	out, err := Thumbnail(bytes.NewReader(buf.Bytes()), 10, 30, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := jpeg.DecodeConfig(bytes.NewReader(out)); c.Width != 10 || c.Height != 30 {
		t.Fatalf("small image became %d×%d", c.Width, c.Height)
	}
	opt := DefaultOptions()
	opt.MaxPixels = 299
	if _, err := Thumbnail(bytes.NewReader(buf.Bytes()), 10, 30, opt); err != ErrTooManyPixels {
		t.Fatalf("over budget: %v", err)
	}
}

func TestDimensionsOfGarbageFails(t *testing.T) {
	if _, _, err := Dimensions(bytes.NewReader([]byte("\x89PNG\r\n\x1a\nnot really"))); err == nil {
		t.Fatal("garbage decoded")
	}
}

func TestFitKeepsAspectAndAtLeastOnePixel(t *testing.T) {
	for _, c := range []struct{ w, h, ww, wh int }{{1000, 10, 320, 3}, {10000, 1, 320, 1}, {100, 400, 80, 320}, {320, 320, 320, 320}} {
		if w, h := fit(c.w, c.h, 320); w != c.ww || h != c.wh {
			t.Errorf("fit(%d,%d) = %d,%d; want %d,%d", c.w, c.h, w, h, c.ww, c.wh)
		}
	}
}
