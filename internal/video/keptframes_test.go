package video

import (
	"errors"
	"image"
	"image/color"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// TestKeptFrames checks that a kept frame gives back, for every box it was
// kept for, exactly the crop the whole frame gives, and what is not kept.
func TestKeptFrames(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 96, 64))
	for y := range 64 {
		for x := range 96 {
			img.SetRGBA(x, y, color.RGBA{uint8(x * 2), uint8(y * 3), uint8(x ^ y), 0xff})
		}
	}
	tests := []struct {
		name  string
		boxes [][4]float64
		kept  bool
	}{
		{"one box", [][4]float64{{0.1, 0.2, 0.5, 0.9}}, true},
		{"two apart", [][4]float64{{0, 0, 0.25, 0.3}, {0.7, 0.6, 1, 1}}, true},
		{"too small to crop", [][4]float64{{0.5, 0.5, 0.52, 0.52}}, false},
		{"none", nil, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := keptFrames{dir: filepath.Join(t.TempDir(), "frames"), used: new(atomic.Int64)}
			if err := k.reset(); err != nil {
				t.Fatal(err)
			}
			if err := k.put(i, img, tt.boxes); err != nil {
				t.Fatal(err)
			}
			got, err := k.get(i)
			if !tt.kept {
				if !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("get: %v, want not kept", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Bounds() != img.Bounds() {
				t.Fatalf("bounds %v, want the frame's %v", got.Bounds(), img.Bounds())
			}
			for _, b := range tt.boxes {
				r, _ := cropRect(img, b)
				if r2, _ := cropRect(got, b); r2 != r {
					t.Fatalf("crop %v of the kept frame, want %v", r2, r)
				}
				for y := r.Min.Y; y < r.Max.Y; y++ {
					for x := r.Min.X; x < r.Max.X; x++ {
						if got.RGBAAt(x, y) != img.RGBAAt(x, y) {
							t.Fatalf("box %v: pixel (%d,%d) %v, want %v", b, x, y, got.RGBAAt(x, y), img.RGBAAt(x, y))
						}
					}
				}
			}
			// A near-duplicate frame shares the picture.
			if err := k.alias(100+i, i); err != nil {
				t.Fatal(err)
			}
			if a, err := k.get(100 + i); err != nil || string(a.Pix) != string(got.Pix) {
				t.Errorf("alias: %v", err)
			}
			if err := k.remove(); err != nil {
				t.Fatal(err)
			}
			if _, err := k.get(i); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("after remove: %v", err)
			}
		})
	}
}

// TestKeptFramesBadFiles checks that a truncated or foreign file is an
// error of its own (the frame is then decoded), that an alias of a frame
// not kept is no error, and that the budget bounds what is kept.
func TestKeptFramesBadFiles(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	box := [][4]float64{{0, 0, 1, 1}}
	k := keptFrames{dir: filepath.Join(t.TempDir(), "frames"), used: new(atomic.Int64)}
	if err := k.reset(); err != nil {
		t.Fatal(err)
	}
	if err := k.put(1, img, box); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(k.path(1))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"truncated": b[:len(b)-1], "header only": b[:keptFrameHeader], "not a frame": []byte("GIF89a..."), "empty": nil} {
		if err := os.WriteFile(k.path(2), data, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := k.get(2); !errors.Is(err, errKeptFrame) {
			t.Errorf("%s: %v, want errKeptFrame", name, err)
		}
	}
	if err := k.alias(3, 4); err != nil {
		t.Errorf("alias of a frame not kept: %v", err)
	}
	k.used.Store(keptFramesBudget)
	if err := k.put(5, img, box); err != nil {
		t.Fatal(err)
	}
	if _, err := k.get(5); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("over the budget: %v, want not kept", err)
	}
}
