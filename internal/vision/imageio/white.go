package imageio

import "image"

// BorderWhite marks the near-white pixels of img connected to its border:
// the background of a packshot on white, without the white inside the
// product (a white collar, a logo). A pixel is near-white when no channel
// is more than tol (0-255) below 255. The mask is row-major over img.Rect;
// n is the number of marked pixels.
func BorderWhite(img *image.RGBA, tol int) (bg []bool, n int) {
	b := img.Rect
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return nil, 0
	}
	white := func(x, y int) bool {
		p := img.PixOffset(b.Min.X+x, b.Min.Y+y)
		return 255-int(min(img.Pix[p], img.Pix[p+1], img.Pix[p+2])) <= tol
	}
	bg = make([]bool, w*h)
	stack := make([]int, 0, 2*(w+h))
	push := func(x, y int) {
		if i := y*w + x; !bg[i] && white(x, y) {
			bg[i] = true
			stack = append(stack, i)
		}
	}
	for x := 0; x < w; x++ {
		push(x, 0)
		push(x, h-1)
	}
	for y := 0; y < h; y++ {
		push(0, y)
		push(w-1, y)
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n++
		x, y := i%w, i/w
		if x > 0 {
			push(x-1, y)
		}
		if x < w-1 {
			push(x+1, y)
		}
		if y > 0 {
			push(x, y-1)
		}
		if y < h-1 {
			push(x, y+1)
		}
	}
	return bg, n
}
