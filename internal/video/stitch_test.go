package video

import (
	"errors"
	"reflect"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/shoppable"
)

func TestStitch(t *testing.T) {
	here := [4]float64{0.4, 0.4, 0.6, 0.6}
	near := [4]float64{0.45, 0.42, 0.65, 0.62}
	far := [4]float64{0.0, 0.0, 0.1, 0.1}
	yes, no := []float32{1}, []float32{0}
	det := func(tt float64, shot int, box [4]float64, emb []float32) detRow {
		return detRow{T: tt, Shot: shot, Box: box, Embedding: emb}
	}
	byTrack := map[int][]detRow{
		1: {det(1.0, 0, here, yes), det(1.5, 0, here, yes)}, // matched
		2: {det(2.2, 0, near, yes), det(2.7, 0, near, no)},  // continues 1, half supports
		3: {det(3.5, 0, here, yes)},                         // continues 2
		4: {det(2.0, 0, here, no), det(2.5, 0, here, no)},   // continues 1, no support
		5: {det(2.0, 1, here, yes)},                         // another shot
		6: {det(2.0, 0, far, yes)},                          // elsewhere
		7: {det(0.2, 0, near, yes), det(0.6, 0, near, yes)}, // ends just before 1 starts
		8: {det(5.0, 0, here, yes)},                         // too late after 3
	}
	p1 := []shoppable.Match{{ProductID: "p1", Score: 0.7}, {ProductID: "p2", Score: 0.5}}
	matches := map[int][]shoppable.Match{1: p1}
	calls := 0
	n, err := stitch(byTrack, matches, func(vec []float32, product string) (bool, error) {
		calls++
		if product != "p1" {
			t.Errorf("support asked for %s", product)
		}
		return vec[0] == 1, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Track 3 continues track 2, which took track 1's matches.
	if want := map[int]int{2: 1, 3: 2, 7: 1}; !reflect.DeepEqual(n, want) {
		t.Errorf("stitched %v, want %v", n, want)
	}
	for tid, want := range map[int]bool{2: true, 3: true, 4: false, 5: false, 6: false, 7: true, 8: false} {
		if got := reflect.DeepEqual(matches[tid], p1); got != want {
			t.Errorf("track %d: matches %v, want stitched %v", tid, matches[tid], want)
		}
	}
	// Each track's crops are checked once per product, whatever the
	// number of passes: the crops of tracks 2, 4 and 7, then of track 3.
	if calls != 7 {
		t.Errorf("support called %d times, want 7", calls)
	}
	// A stitched track gets its own copy of the matches.
	matches[2][0].Score = 0
	if matches[1][0].Score != 0.7 {
		t.Error("stitched track shares the matched track's slice")
	}

	boom := errors.New("search failed")
	_, err = stitch(map[int][]detRow{1: {det(1, 0, here, yes)}, 2: {det(1.5, 0, here, yes)}},
		map[int][]shoppable.Match{1: p1}, func([]float32, string) (bool, error) { return false, boom })
	if !errors.Is(err, boom) {
		t.Errorf("support error = %v, want %v", err, boom)
	}
}
