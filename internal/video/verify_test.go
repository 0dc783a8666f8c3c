package video

import (
	"testing"

	"github.com/vitrine-dev/vitrine/internal/verify"
)

func TestPromote(t *testing.T) {
	r := func(inliers ...int) []verify.Result {
		out := make([]verify.Result, len(inliers))
		for i, n := range inliers {
			out[i].Inliers = n
		}
		return out
	}
	for _, tc := range []struct {
		name string
		res  []verify.Result
		want int
	}{
		{"the first is confirmed", r(120, 10, 8), 0},
		{"a lower candidate is confirmed, the first is not", r(9, 150, 12), 1},
		{"the third", r(5, 6, 60), 2},
		{"too few inliers to overrule", r(5, 30, 4), 0},
		{"not clearly ahead of the first", r(30, 80, 4), 0},
		{"not clearly ahead of another", r(4, 80, 30), 0},
		{"nothing confirmed", r(4, 4, 4), 0},
		{"one candidate", r(3), 0},
		{"none", nil, 0},
	} {
		if got := promote(tc.res); got != tc.want {
			t.Errorf("%s: promote = %d, want %d", tc.name, got, tc.want)
		}
	}
}
