package catalog

import (
	"image"
	"image/color"
	"image/draw"
	"testing"
)

// packshot is a white canvas with one coloured rectangle.
func packshot(w, h int, item image.Rectangle) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(img, item, image.NewUniform(color.RGBA{R: 200, G: 30, B: 30, A: 255}), image.Point{}, draw.Src)
	return img
}

func TestMainItem(t *testing.T) {
	shop := map[string]bool{"handbag": true, "backpack": true}
	full := image.Rect(0, 0, 200, 300)
	tests := []struct {
		name      string
		img       image.Image
		dets      []Detection
		wantLabel string
		// want is the box the result must contain; within bounds it must
		// not exceed it by more than pad.
		want image.Rectangle
	}{
		{name: "packshot on white is trimmed", img: packshot(200, 300, image.Rect(50, 60, 150, 240)), wantLabel: "trimmed", want: image.Rect(50, 60, 150, 240)},
		{name: "full-bleed photo stays whole", img: packshot(200, 300, full), wantLabel: "whole", want: full},
		{name: "blank image stays whole", img: packshot(200, 300, image.Rectangle{}), wantLabel: "whole", want: full},
		{
			name:      "shoppable detection wins",
			img:       packshot(200, 300, full),
			dets:      []Detection{{Label: "Handbag", Score: 0.8, Box: image.Rect(20, 20, 120, 140)}},
			wantLabel: "handbag", want: image.Rect(20, 20, 120, 140),
		},
		{
			name: "person counts for on-model photos, bigger beats slightly surer",
			img:  packshot(200, 300, full),
			dets: []Detection{
				{Label: "person", Score: 0.7, Box: image.Rect(10, 10, 190, 290)},
				{Label: "handbag", Score: 0.75, Box: image.Rect(140, 150, 170, 190)},
			},
			wantLabel: "person", want: image.Rect(10, 10, 190, 290),
		},
		{
			name:      "non-shoppable and weak detections are ignored",
			img:       packshot(200, 300, image.Rect(50, 60, 150, 240)),
			dets:      []Detection{{Label: "chair", Score: 0.9, Box: image.Rect(0, 0, 100, 100)}, {Label: "handbag", Score: 0.1, Box: image.Rect(0, 0, 100, 100)}},
			wantLabel: "trimmed", want: image.Rect(50, 60, 150, 240),
		},
		{
			name:      "tiny detection is ignored",
			img:       packshot(200, 300, full),
			dets:      []Detection{{Label: "handbag", Score: 0.9, Box: image.Rect(0, 0, 10, 10)}},
			wantLabel: "whole", want: full,
		},
		{
			name:      "box outside the image is clipped",
			img:       packshot(200, 300, full),
			dets:      []Detection{{Label: "backpack", Score: 0.9, Box: image.Rect(-50, 100, 120, 400)}},
			wantLabel: "backpack", want: image.Rect(0, 100, 120, 300),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := MainItem(tc.img, tc.dets, shop)
			if got.Label != tc.wantLabel {
				t.Errorf("label = %q, want %q", got.Label, tc.wantLabel)
			}
			if !tc.want.In(got.Box) || !got.Box.In(tc.img.Bounds()) {
				t.Errorf("box = %v, want it to contain %v and lie in %v", got.Box, tc.want, tc.img.Bounds())
			}
			if dx := got.Box.Dx() - tc.want.Dx(); dx > tc.want.Dx()/10+2 {
				t.Errorf("box = %v is much wider than %v", got.Box, tc.want)
			}
		})
	}
}

func TestVectorRoundTrip(t *testing.T) {
	v := []float32{0, 1, -2.5, 3.25e-8}
	got, err := decodeVector(encodeVector(v))
	if err != nil || len(got) != len(v) {
		t.Fatalf("decode: %v %v", got, err)
	}
	for i := range v {
		if got[i] != v[i] {
			t.Errorf("[%d] = %v, want %v", i, got[i], v[i])
		}
	}
	if _, err := decodeVector([]byte{1, 2, 3}); err == nil {
		t.Error("decoding 3 bytes: no error")
	}
}

func TestForModels(t *testing.T) {
	tests := []struct {
		w, h, wantF int
	}{
		{224, 224, 1},
		{511, 800, 1},
		{512, 768, 2},
		{1200, 2000, 4},
	}
	for _, tc := range tests {
		item := image.Rect(tc.w/4, tc.h/4, tc.w/2, tc.h/2)
		src := packshot(tc.w, tc.h, item)
		got, f := forModels(src)
		if f != tc.wantF || got.Rect.Dx() != tc.w/f || got.Rect.Dy() != tc.h/f {
			t.Errorf("%dx%d: got %v factor %d, want factor %d", tc.w, tc.h, got.Rect, f, tc.wantF)
			continue
		}
		// The item found on the reduced image maps back onto the original.
		m := MainItem(got, nil, nil)
		back := scaleRect(m.Box, f, src.Bounds())
		if !item.Inset(f).In(back) || !back.In(src.Bounds()) {
			t.Errorf("%dx%d: item %v mapped back to %v", tc.w, tc.h, item, back)
		}
		// Colours survive the box filter.
		c := got.RGBAAt(got.Rect.Dx()*3/8, got.Rect.Dy()*3/8)
		if c.R < 190 || c.G > 40 {
			t.Errorf("%dx%d: item colour %v after reduction", tc.w, tc.h, c)
		}
	}
}
