package video

import (
	"reflect"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/shoppable"
)

func TestMergeDuplicates(t *testing.T) {
	box := func(tt, x, y, w, h float64) shoppable.Box { return shoppable.Box{T: tt, X: x, Y: y, W: w, H: h} }
	item := func(id string, shot int, start, end float64, product string, score float64, boxes ...shoppable.Box) shoppable.Item {
		it := shoppable.Item{ID: id, Label: "l" + id, Shot: shot, StartS: start, EndS: end, Boxes: boxes, Review: shoppable.ReviewAuto}
		if product != "" {
			it.Matches = []shoppable.Match{{ProductID: product, Score: score}}
		}
		return it
	}
	bag := box(1, 0.4, 0.4, 0.2, 0.2)
	bagWindow := box(1.1, 0.35, 0.35, 0.3, 0.3) // covers the bag box
	elsewhere := box(1, 0.0, 0.0, 0.1, 0.1)
	reviewed := item("t3", 0, 0, 2, "p1", 0.5, bagWindow)
	reviewed.Review = shoppable.ReviewApproved
	for _, tc := range []struct {
		name string
		in   []shoppable.Item
		want []shoppable.Item
	}{
		{
			name: "two proposals of one product merge into the better",
			in:   []shoppable.Item{item("t1", 0, 0.5, 2, "p1", 0.4, bag), item("t2", 0, 0, 1.5, "p1", 0.6, bagWindow, box(1.6, 0.3, 0.3, 0.3, 0.3))},
			want: []shoppable.Item{item("t2", 0, 0, 2, "p1", 0.6, bagWindow, box(1.6, 0.3, 0.3, 0.3, 0.3))},
		},
		{
			name: "gaps of the best are filled with the others' boxes",
			in:   []shoppable.Item{item("t1", 0, 0, 3, "p1", 0.7, bag), item("t2", 0, 0, 3, "p1", 0.5, bagWindow, box(2.5, 0.4, 0.4, 0.2, 0.2))},
			want: []shoppable.Item{item("t1", 0, 0, 3, "p1", 0.7, bag, box(2.5, 0.4, 0.4, 0.2, 0.2))},
		},
		{
			name: "different products stay apart",
			in:   []shoppable.Item{item("t1", 0, 0, 2, "p1", 0.4, bag), item("t2", 0, 0, 2, "p2", 0.6, bagWindow)},
			want: []shoppable.Item{item("t1", 0, 0, 2, "p1", 0.4, bag), item("t2", 0, 0, 2, "p2", 0.6, bagWindow)},
		},
		{
			name: "one product in two places of a shot is one item",
			in:   []shoppable.Item{item("t1", 0, 0, 2, "p1", 0.4, bag), item("t2", 0, 0, 2, "p1", 0.6, elsewhere)},
			want: []shoppable.Item{item("t2", 0, 0, 2, "p1", 0.6, elsewhere)},
		},
		{
			name: "different shots stay apart",
			in:   []shoppable.Item{item("t1", 0, 0, 2, "p1", 0.4, bag), item("t2", 1, 0, 2, "p1", 0.6, bagWindow)},
			want: []shoppable.Item{item("t1", 0, 0, 2, "p1", 0.4, bag), item("t2", 1, 0, 2, "p1", 0.6, bagWindow)},
		},
		{
			name: "one product at two times of a shot is one item",
			in:   []shoppable.Item{item("t1", 0, 0, 1, "p1", 0.4, box(0.9, 0.4, 0.4, 0.2, 0.2)), item("t2", 0, 2.2, 3, "p1", 0.6, box(2.3, 0.4, 0.4, 0.2, 0.2))},
			want: []shoppable.Item{item("t2", 0, 0, 3, "p1", 0.6, box(0.9, 0.4, 0.4, 0.2, 0.2), box(2.3, 0.4, 0.4, 0.2, 0.2))},
		},
		{
			name: "an item that continues another where it ended merges",
			in:   []shoppable.Item{item("t1", 0, 0, 1, "p1", 0.4, box(0.9, 0.4, 0.4, 0.2, 0.2)), item("t2", 0, 1.3, 2, "p1", 0.6, box(1.5, 0.5, 0.45, 0.2, 0.25))},
			want: []shoppable.Item{item("t2", 0, 0, 2, "p1", 0.6, box(0.9, 0.4, 0.4, 0.2, 0.2), box(1.5, 0.5, 0.45, 0.2, 0.25))},
		},
		{
			name: "reviewed and unmatched items are left alone",
			in:   []shoppable.Item{item("t1", 0, 0, 2, "p1", 0.4, bag), reviewed, item("t4", 0, 0, 2, "", 0, bag)},
			want: []shoppable.Item{item("t1", 0, 0, 2, "p1", 0.4, bag), reviewed, item("t4", 0, 0, 2, "", 0, bag)},
		},
		{
			name: "chains merge transitively and keep the first place",
			in: []shoppable.Item{
				item("t1", 0, 0, 2, "p1", 0.5, bag),
				item("t9", 0, 0, 2, "p2", 0.5, elsewhere),
				item("t2", 0, 0, 2, "p1", 0.4, box(1, 0.45, 0.45, 0.3, 0.3)),
				item("t3", 0, 0, 2, "p1", 0.3, box(1, 0.6, 0.6, 0.1, 0.1)),
			},
			want: []shoppable.Item{item("t1", 0, 0, 2, "p1", 0.5, bag), item("t9", 0, 0, 2, "p2", 0.5, elsewhere)},
		},
		{name: "empty", in: nil, want: []shoppable.Item{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mergeDuplicates(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("mergeDuplicates:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestContinues(t *testing.T) {
	a := [4]float64{0.4, 0.4, 0.6, 0.6}
	for _, tc := range []struct {
		name string
		b    [4]float64
		dt   float64
		want bool
	}{
		{"same place soon after", a, 0.5, true},
		{"moved by less than its size", [4]float64{0.55, 0.45, 0.75, 0.65}, 0.5, true},
		{"at the gap limit", a, stitchMaxGap, true},
		{"too late", a, stitchMaxGap + 0.01, false},
		{"before", a, -0.1, false},
		{"too far", [4]float64{0.8, 0.8, 0.95, 0.95}, 0.5, false},
		{"much smaller", [4]float64{0.45, 0.45, 0.5, 0.5}, 0.5, false},
		{"empty", [4]float64{0.5, 0.5, 0.5, 0.6}, 0.5, false},
	} {
		if got := continues(a, tc.b, tc.dt); got != tc.want {
			t.Errorf("%s: continues = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// memberCase is a group of one product's items, what their tracks frame,
// and the member a picker (wholeBodyMember, placeMember) should return.
type memberCase struct {
	name   string
	items  []shoppable.Item
	frames []trackFrame
	want   int
}

// groupBox and groupItem make the boxes and items of memberCases.
func groupBox(tt, x, y, w, h float64) shoppable.Box {
	return shoppable.Box{T: tt, X: x, Y: y, W: w, H: h}
}

func groupItem(id string, score float64, boxes ...shoppable.Box) shoppable.Item {
	return shoppable.Item{ID: id, Boxes: boxes, Review: shoppable.ReviewAuto, Matches: []shoppable.Match{{ProductID: "p1", Score: score}}}
}

// runMemberCases checks pick on every case, the whole group as g.
func runMemberCases(t *testing.T, name string, pick func([]shoppable.Item, []int, []trackFrame) int, cases []memberCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := make([]int, len(tc.items))
			for i := range g {
				g[i] = i
			}
			if got := pick(tc.items, g, tc.frames); got != tc.want {
				t.Fatalf("%s = %d, want %d", name, got, tc.want)
			}
		})
	}
}

func TestWholeBodyBoxes(t *testing.T) {
	box, item := groupBox, groupItem
	upper := box(1, 0.3, 0.2, 0.4, 0.3)   // the upper body's region
	person := box(1, 0.3, 0.1, 0.4, 0.85) // the whole person it was cut from
	other := box(1, 0.0, 0.0, 0.2, 0.9)   // a person elsewhere
	behind := box(1, 0.2, 0.0, 0.7, 0.95) // a person behind a picture of the product
	const (
		o, w, r = frameOther, frameWhole, frameRegion
	)
	runMemberCases(t, "wholeBodyMember", wholeBodyMember, []memberCase{
		{"the person the matched region was cut from", []shoppable.Item{item("t1", 0.7, upper), item("t2", 0.5, person)}, []trackFrame{r, w}, 1},
		{"the better of two whole-person tracks", []shoppable.Item{item("t1", 0.7, upper), item("t2", 0.4, person), item("t3", 0.6, person)}, []trackFrame{r, w, w}, 2},
		{"the best member frames the person already", []shoppable.Item{item("t1", 0.7, person), item("t2", 0.5, upper)}, []trackFrame{w, r}, -1},
		{"a person elsewhere is not the product's", []shoppable.Item{item("t1", 0.7, upper), item("t2", 0.5, other)}, []trackFrame{r, w}, -1},
		{"a person merely around the region is not its own", []shoppable.Item{item("t1", 0.7, upper), item("t2", 0.5, behind)}, []trackFrame{r, w}, -1},
		{"a window's match keeps its box", []shoppable.Item{item("t1", 0.7, upper), item("t2", 0.5, person)}, []trackFrame{o, w}, -1},
		{"no whole-person track", []shoppable.Item{item("t1", 0.7, upper), item("t2", 0.5, person)}, []trackFrame{r, o}, -1},
	})

	// Only products worn over the whole body show the person's boxes;
	// the others show their placed boxes when they have them.
	doc := &shoppable.Document{Items: []shoppable.Item{
		{ID: "t1", Label: "dress", Boxes: []shoppable.Box{upper}},
		{ID: "t2", Label: "co-ord set", Boxes: []shoppable.Box{upper}},
		{ID: "t3", Label: "top", Boxes: []shoppable.Box{upper}},
		{ID: "t4", Label: "dress", Boxes: []shoppable.Box{upper}},
		{ID: "t5", Label: "top", Boxes: []shoppable.Box{upper}},
	}}
	showBoxes(doc, map[string]shownBoxes{
		"t1": {whole: []shoppable.Box{person}},
		"t2": {place: []shoppable.Box{upper}, whole: []shoppable.Box{person}},
		"t3": {whole: []shoppable.Box{person}},
		"t5": {place: []shoppable.Box{other}},
	})
	for i, want := range []shoppable.Box{person, person, upper, upper, other} {
		if got := doc.Items[i].Boxes[0]; got != want {
			t.Errorf("%s (%s): box %+v, want %+v", doc.Items[i].ID, doc.Items[i].Label, got, want)
		}
	}
}

func TestPlacedBoxes(t *testing.T) {
	box := func(tt, x, y, w, h float64) shoppable.Box { return shoppable.Box{T: tt, X: x, Y: y, W: w, H: h} }
	item := func(id string, start, end, score float64, boxes ...shoppable.Box) shoppable.Item {
		return shoppable.Item{ID: id, StartS: start, EndS: end, Boxes: boxes, Review: shoppable.ReviewAuto, Matches: []shoppable.Match{{ProductID: "p1", Score: score}}}
	}
	inset := box(1, 0.3, 0.3, 0.2, 0.3)
	insetLater := box(3, 0.3, 0.3, 0.2, 0.3)
	around := box(2, 0.25, 0.25, 0.3, 0.4)  // a window around the inset
	elsewhere := box(2, 0.0, 0.1, 0.2, 0.8) // a person on the other side
	before := box(0.2, 0.6, 0.1, 0.2, 0.8)  // the product earlier in the shot, elsewhere
	items := []shoppable.Item{
		item("t1", 1, 3, 0.7, inset, insetLater), // best: a gap at 2 s
		item("t2", 1, 3, 0.5, box(1, 0.25, 0.25, 0.3, 0.4), around),
		item("t3", 1, 3, 0.6, elsewhere, box(1, 0.0, 0.1, 0.2, 0.8)),
		item("t4", 0, 0.5, 0.4, before),
	}
	got := placedBoxes(items, []int{0, 1, 2, 3}, 0)
	// Tracks share the sample times of the frames they were seen in.
	want := []shoppable.Box{before, inset, around, insetLater}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("placedBoxes:\n got %+v\nwant %+v", got, want)
	}
}

func TestPlaceMember(t *testing.T) {
	box, item := groupBox, groupItem
	waist := box(1, 0.41, 0.58, 0.17, 0.2)  // a window over the hands at a waistband
	lower := box(1, 0.1, 0.5, 0.8, 0.45)    // the lower body's region of the same person
	person := box(1.2, 0.1, 0.1, 0.8, 0.85) // the whole person, a moment later
	elsewhere := box(1, 0.6, 0.0, 0.3, 0.4) // a region of someone else
	later := box(3, 0.1, 0.5, 0.8, 0.45)    // the region, long after the window
	const (
		o, w, r, x = frameOther, frameWhole, frameRegion, frameWindow
	)
	runMemberCases(t, "placeMember", placeMember, []memberCase{
		{"a window shows the region it lies in", []shoppable.Item{item("t1", 0.49, waist), item("t2", 0.45, lower)}, []trackFrame{x, r}, 1},
		{"the better of a region and its person", []shoppable.Item{item("t1", 0.49, waist), item("t2", 0.4, lower), item("t3", 0.45, person)}, []trackFrame{x, r, w}, 2},
		{"a best region keeps its box", []shoppable.Item{item("t1", 0.49, lower), item("t2", 0.45, waist)}, []trackFrame{r, x}, 0},
		{"a detector box keeps its box", []shoppable.Item{item("t1", 0.49, waist), item("t2", 0.45, lower)}, []trackFrame{o, r}, 0},
		{"a region elsewhere is not the window's", []shoppable.Item{item("t1", 0.49, waist), item("t2", 0.45, elsewhere)}, []trackFrame{x, r}, 0},
		{"a region at another time is not the window's", []shoppable.Item{item("t1", 0.49, waist), item("t2", 0.45, later)}, []trackFrame{x, r}, 0},
		{"only other windows", []shoppable.Item{item("t1", 0.49, waist), item("t2", 0.45, lower)}, []trackFrame{x, x}, 0},
	})
}
