package review

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/shoppable"
	"github.com/vitrine-dev/vitrine/internal/store/storetest"
)

// eachDialect runs fn on a fresh SQLite and PostgreSQL database.
func eachDialect(t *testing.T, fn func(t *testing.T, s *Store)) {
	for _, o := range storetest.All() {
		t.Run(o.Name, func(t *testing.T) { fn(t, New(o.Open(t))) })
	}
}

func item(id string, shot int, label string, start, end float64, products ...string) shoppable.Item {
	it := shoppable.Item{ID: id, Shot: shot, Label: label, StartS: start, EndS: end, Review: shoppable.ReviewAuto}
	for i, p := range products {
		it.Matches = append(it.Matches, shoppable.Match{ProductID: p, Score: 0.9 - float64(i)*0.1})
	}
	return it
}

func TestRecordAndHistory(t *testing.T) { eachDialect(t, testRecordAndHistory) }

func testRecordAndHistory(t *testing.T, s *Store) {
	ctx := context.Background()
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return at }
	it := item("t1", 0, "handbag", 1, 3, "p1", "p2")
	alice := Actor{KeyID: 7, Name: "alice"}
	e1, err := s.Record(ctx, "v1", it, "approve", "", "", alice)
	if err != nil {
		t.Fatal(err)
	}
	if e1.ProductID != "p1" {
		t.Errorf("approve pinned %q, want the best match p1", e1.ProductID)
	}
	at = at.Add(time.Minute)
	if _, err := s.Record(ctx, "v1", it, "Replace", "p9", "wrong colour", Actor{KeyID: 8, Name: "bob"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Record(ctx, "v2", it, "reject", "", "", alice); err != nil {
		t.Fatal(err)
	}
	got, err := s.Edits(ctx, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d edits of v1, want 2: %+v", len(got), got)
	}
	if got[0].Actor != alice || !got[0].CreatedAt.Equal(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("first edit by %+v at %v, want alice at 10:00", got[0].Actor, got[0].CreatedAt)
	}
	if g := got[1]; g.Action != ActionReplace || g.ProductID != "p9" || g.Note != "wrong colour" || g.Actor.Name != "bob" ||
		g.Shot != 0 || g.StartS != 1 || g.EndS != 3 || g.Label != "handbag" || !g.CreatedAt.Equal(at) {
		t.Errorf("second edit %+v", g)
	}

	doc := &shoppable.Document{Items: []shoppable.Item{it}}
	if err := s.ApplyReview(ctx, "v1", doc); err != nil {
		t.Fatal(err)
	}
	if doc.Items[0].Review != shoppable.ReviewReplaced || doc.Items[0].ProductID != "p9" {
		t.Errorf("applied item %+v, want replaced by p9 (the newest edit)", doc.Items[0])
	}
}

func TestRecordRejectsBadEdits(t *testing.T) { eachDialect(t, testRecordRejectsBadEdits) }

func testRecordRejectsBadEdits(t *testing.T, s *Store) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, video, action, product string
		it                           shoppable.Item
	}{
		{"unknown action", "v1", "delete", "", item("t1", 0, "cup", 0, 1, "p1")},
		{"replace without product", "v1", "replace", "", item("t1", 0, "cup", 0, 1, "p1")},
		{"approve with nothing to approve", "v1", "approve", "", item("t1", 0, "cup", 0, 1)},
		{"no video", "", "reject", "", item("t1", 0, "cup", 0, 1)},
		{"no item", "v1", "reject", "", item("", 0, "cup", 0, 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Record(ctx, tc.video, tc.it, tc.action, tc.product, "", Actor{}); !errors.Is(err, ErrInvalid) {
				t.Errorf("Record: %v, want ErrInvalid", err)
			}
		})
	}
	if got, _ := s.Edits(ctx, "v1"); len(got) != 0 {
		t.Errorf("invalid edits were stored: %+v", got)
	}
}

func TestApply(t *testing.T) {
	edit := func(id int64, item string, shot int, label string, start, end float64, action, product string) Edit {
		return Edit{ID: id, ItemID: item, Shot: shot, Label: label, StartS: start, EndS: end, Action: action, ProductID: product}
	}
	type want struct {
		review, product string
	}
	for _, tc := range []struct {
		name    string
		items   []shoppable.Item
		edits   []Edit
		want    map[string]want // by item id; unlisted items stay auto
		orphans int
	}{
		{
			name:  "re-match keeps ids",
			items: []shoppable.Item{item("t1", 0, "handbag", 1, 3, "p5", "p1"), item("t2", 0, "cup", 0, 4, "p3")},
			edits: []Edit{edit(1, "t1", 0, "handbag", 1, 3, ActionApprove, "p1"), edit(2, "t2", 0, "cup", 0, 4, ActionReject, "")},
			want:  map[string]want{"t1": {shoppable.ReviewApproved, "p1"}, "t2": {shoppable.ReviewRejected, ""}},
		},
		{
			name:  "re-analysis renumbers: follow the overlapping item of the same shot and label",
			items: []shoppable.Item{item("t7", 0, "cup", 0, 4), item("t8", 0, "handbag", 1.2, 3.1, "p2"), item("t9", 1, "handbag", 5, 6, "p2")},
			edits: []Edit{edit(1, "t1", 0, "handbag", 1, 3, ActionReplace, "p4")},
			want:  map[string]want{"t8": {shoppable.ReviewReplaced, "p4"}},
		},
		{
			name:    "same id but another item now: not applied to it",
			items:   []shoppable.Item{item("t1", 2, "cup", 10, 11, "p3")},
			edits:   []Edit{edit(1, "t1", 0, "handbag", 1, 3, ActionReject, "")},
			want:    map[string]want{},
			orphans: 1,
		},
		{
			name:    "too little overlap",
			items:   []shoppable.Item{item("t5", 0, "handbag", 2.8, 6, "p2")},
			edits:   []Edit{edit(1, "t1", 0, "handbag", 1, 3, ActionReject, "")},
			want:    map[string]want{},
			orphans: 1,
		},
		{
			name:  "newest edit wins, reset returns to auto",
			items: []shoppable.Item{item("t1", 0, "handbag", 1, 3, "p5")},
			edits: []Edit{edit(1, "t1", 0, "handbag", 1, 3, ActionReject, ""), edit(2, "t1", 0, "handbag", 1, 3, ActionReplace, "p1"),
				edit(3, "t1", 0, "handbag", 1, 3, ActionReset, "")},
			want: map[string]want{"t1": {shoppable.ReviewAuto, ""}},
		},
		{
			name:    "an edit on the renumbered item beats the older edit that follows it",
			items:   []shoppable.Item{item("t8", 0, "handbag", 1, 3, "p2")},
			edits:   []Edit{edit(1, "t1", 0, "handbag", 1, 3, ActionReject, ""), edit(2, "t8", 0, "handbag", 1, 3, ActionApprove, "p2")},
			want:    map[string]want{"t8": {shoppable.ReviewApproved, "p2"}},
			orphans: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := &shoppable.Document{Items: tc.items}
			applied := Apply(doc, tc.edits)
			orphans := 0
			for _, a := range applied {
				if a.ItemID == "" {
					orphans++
				}
			}
			if orphans != tc.orphans {
				t.Errorf("%d edits found no item, want %d: %+v", orphans, tc.orphans, applied)
			}
			for _, it := range doc.Items {
				w, ok := tc.want[it.ID]
				if !ok {
					w = want{shoppable.ReviewAuto, ""}
				}
				if it.Review != w.review || it.ProductID != w.product {
					t.Errorf("item %s: review %q product %q, want %q %q", it.ID, it.Review, it.ProductID, w.review, w.product)
				}
			}
		})
	}
}

func TestOverlap(t *testing.T) {
	for _, tc := range []struct {
		a0, a1, b0, b1, want float64
	}{
		{0, 2, 1, 3, 0.5},
		{0, 4, 1, 2, 1},
		{0, 1, 2, 3, 0},
		{1, 1, 0, 2, 1},
		{5, 5, 0, 2, 0},
	} {
		if got := overlap(tc.a0, tc.a1, tc.b0, tc.b1); got != tc.want {
			t.Errorf("overlap([%g,%g], [%g,%g]) = %g, want %g", tc.a0, tc.a1, tc.b0, tc.b1, got, tc.want)
		}
	}
}

// BenchmarkApply measures applying a long review history to a large
// document, the cost review adds to every assembly.
func BenchmarkApply(b *testing.B) {
	items := make([]shoppable.Item, 400)
	for i := range items {
		items[i] = item(fmt.Sprintf("t%d", i), i/10, "handbag", float64(i), float64(i)+2, "p1", "p2")
	}
	var edits []Edit
	for i := range 1000 {
		it := items[(i*7)%len(items)]
		if i%3 == 0 {
			it.ID = "gone" + it.ID // re-analysed: found again by overlap
		}
		edits = append(edits, Edit{ID: int64(i + 1), ItemID: it.ID, Shot: it.Shot, Label: it.Label, StartS: it.StartS, EndS: it.EndS, Action: ActionReplace, ProductID: "p9"})
	}
	doc := &shoppable.Document{Items: items}
	b.ReportAllocs()
	for b.Loop() {
		Apply(doc, edits)
	}
}
