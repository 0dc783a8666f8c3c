package video

import (
	"reflect"
	"testing"
)

func TestBoxesWithin(t *testing.T) {
	at := func(ts ...float64) []boxAt {
		var out []boxAt
		for _, v := range ts {
			out = append(out, boxAt{T: v, B: [4]float64{v, 0, v + 0.1, 0.1}})
		}
		return out
	}
	for _, tc := range []struct {
		name       string
		in         []boxAt
		start, end float64
		want       []boxAt
	}{
		{"all inside", at(1, 2, 3), 0, 4, at(1, 2, 3)},
		{"ends cut", at(1, 2, 3, 4), 1.5, 3.5, at(2, 3)},
		{"bounds inclusive", at(1, 2, 3), 1, 3, at(1, 2, 3)},
		{"none inside: nearest kept", at(1, 2, 5), 2.6, 3.2, at(2)},
		{"none inside, after", at(1, 2), 2.5, 3, at(2)},
		{"empty", nil, 0, 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := boxesWithin(tc.in, tc.start, tc.end); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("boxesWithin(%v, %v, %v) = %v, want %v", tc.in, tc.start, tc.end, got, tc.want)
			}
		})
	}
}
