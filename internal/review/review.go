// Package review keeps operators' decisions on the items detected in a
// video: approve the automatic match, reject the item, replace its product
// with another one, or reset it to the automatic result. Every edit is
// stored with who made it and when (the history is append-only; the newest
// edit of an item wins), and Apply writes the decisions into a shoppable
// document while it is assembled, so each published version reflects them.
//
// An edit remembers the item's id, shot, label and time span. After a
// re-match the item keeps its id; after a re-analysis the ids may change,
// and the edit moves to the item of the same shot and label that overlaps
// its time span best.
package review

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vitrine-dev/vitrine/internal/shoppable"
	"github.com/vitrine-dev/vitrine/internal/store"
)

// Actions an operator can take on an item.
const (
	ActionApprove = "approve"
	ActionReject  = "reject"
	ActionReplace = "replace"
	ActionReset   = "reset"
)

// ErrInvalid wraps every validation error of Record.
var ErrInvalid = errors.New("review: invalid edit")

// MinOverlap is the least time overlap (intersection over the shorter
// span) for an edit to follow an item whose id changed.
const MinOverlap = 0.5

// Actor is who made an edit: the API key behind the request.
type Actor struct {
	KeyID int64  `json:"key_id"`
	Name  string `json:"name"`
}

// Edit is one stored decision.
type Edit struct {
	ID        int64     `json:"id"`
	VideoID   string    `json:"video_id"`
	ItemID    string    `json:"item_id"`
	Shot      int       `json:"shot"`
	Label     string    `json:"label"`
	StartS    float64   `json:"start_s"`
	EndS      float64   `json:"end_s"`
	Action    string    `json:"action"`
	ProductID string    `json:"product_id,omitempty"`
	Note      string    `json:"note,omitempty"`
	Actor     Actor     `json:"actor"`
	CreatedAt time.Time `json:"created_at"`
}

// Store keeps review edits in the database.
type Store struct {
	db  *store.DB
	now func() time.Time
}

// New returns a Store on db.
func New(db *store.DB) *Store {
	return &Store{db: db, now: func() time.Time { return time.Now().UTC() }}
}

// Record stores a decision on item (as it appears in the video's current
// document). Approve pins the item's current best match unless productID
// names another of its matches; replace needs productID (the caller checks
// that the product exists).
func (s *Store) Record(ctx context.Context, videoID string, item shoppable.Item, action, productID, note string, who Actor) (Edit, error) {
	e := Edit{VideoID: videoID, ItemID: item.ID, Shot: item.Shot, Label: item.Label, StartS: item.StartS, EndS: item.EndS,
		Action: strings.ToLower(strings.TrimSpace(action)), ProductID: strings.TrimSpace(productID), Note: strings.TrimSpace(note), Actor: who}
	if videoID == "" || item.ID == "" {
		return Edit{}, fmt.Errorf("%w: video and item are required", ErrInvalid)
	}
	if len(e.Note) > 1000 || len(e.ProductID) > 200 {
		return Edit{}, fmt.Errorf("%w: note longer than 1000 bytes or product id longer than 200", ErrInvalid)
	}
	switch e.Action {
	case ActionApprove:
		if e.ProductID == "" {
			if len(item.Matches) == 0 && item.ProductID == "" {
				return Edit{}, fmt.Errorf("%w: item %s has no match to approve; replace it with a product instead", ErrInvalid, item.ID)
			}
			e.ProductID = item.Product()
		}
	case ActionReplace:
		if e.ProductID == "" {
			return Edit{}, fmt.Errorf("%w: replace needs a product_id", ErrInvalid)
		}
	case ActionReject, ActionReset:
		e.ProductID = ""
	default:
		return Edit{}, fmt.Errorf("%w: action %q (want approve, reject, replace or reset)", ErrInvalid, action)
	}
	e.CreatedAt = s.now()
	db := s.db
	// RETURNING works on both SQLite and PostgreSQL; LastInsertId does not.
	err := db.Write.QueryRowContext(ctx, db.Rebind(`INSERT INTO review_edits(video_id, item_id, shot, label, start_s, end_s, action, product_id, note, actor_key_id, actor, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		e.VideoID, e.ItemID, e.Shot, e.Label, e.StartS, e.EndS, e.Action, e.ProductID, e.Note, e.Actor.KeyID, e.Actor.Name, e.CreatedAt).Scan(&e.ID)
	if err != nil {
		return Edit{}, fmt.Errorf("review: record edit of %s/%s: %w", videoID, item.ID, err)
	}
	return e, nil
}

// Edits returns the history of a video's edits, oldest first.
func (s *Store) Edits(ctx context.Context, videoID string) ([]Edit, error) {
	db := s.db
	rows, err := db.Read.QueryContext(ctx, db.Rebind(`SELECT id, video_id, item_id, shot, label, start_s, end_s, action, product_id, note, actor_key_id, actor, created_at
		FROM review_edits WHERE video_id = ? ORDER BY id`), videoID)
	if err != nil {
		return nil, fmt.Errorf("review: edits of %s: %w", videoID, err)
	}
	defer rows.Close()
	var out []Edit
	for rows.Next() {
		var e Edit
		if err := rows.Scan(&e.ID, &e.VideoID, &e.ItemID, &e.Shot, &e.Label, &e.StartS, &e.EndS, &e.Action, &e.ProductID, &e.Note,
			&e.Actor.KeyID, &e.Actor.Name, &e.CreatedAt); err != nil {
			return nil, fmt.Errorf("review: edits of %s: %w", videoID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("review: edits of %s: %w", videoID, err)
	}
	return out, nil
}

// ApplyReview writes the video's decisions into doc; the video workflow
// calls it while assembling each document version.
func (s *Store) ApplyReview(ctx context.Context, videoID string, doc *shoppable.Document) error {
	edits, err := s.Edits(ctx, videoID)
	if err != nil {
		return err
	}
	Apply(doc, edits)
	return nil
}

// Applied says which item an edit landed on ("" when its item is gone).
type Applied struct {
	Edit   Edit   `json:"edit"`
	ItemID string `json:"item_id"`
}

// Apply writes the newest edit of every item into doc.Items and reports
// where each of those edits landed. edits must be oldest first.
func Apply(doc *shoppable.Document, edits []Edit) []Applied {
	latest := Latest(edits)
	byID := map[string]int{}
	byShot := map[int][]int{}
	for i, it := range doc.Items {
		byID[it.ID] = i
		byShot[it.Shot] = append(byShot[it.Shot], i)
	}
	claimed := map[int]bool{}
	target := make([]int, len(latest))
	// Edits whose item kept its id come first, so an item that moved cannot
	// take another edit's item; newer edits claim items before older ones.
	for i, e := range latest {
		target[i] = -1
		if j, ok := byID[e.ItemID]; ok && sameItem(e, doc.Items[j]) {
			target[i], claimed[j] = j, true
		}
	}
	for i, e := range latest {
		if target[i] >= 0 {
			continue
		}
		best, bestOv := -1, MinOverlap
		for _, j := range byShot[e.Shot] {
			it := doc.Items[j]
			if claimed[j] || it.Label != e.Label {
				continue
			}
			if ov := overlap(e.StartS, e.EndS, it.StartS, it.EndS); ov >= bestOv {
				best, bestOv = j, ov
			}
		}
		if best >= 0 {
			target[i], claimed[best] = best, true
		}
	}
	out := make([]Applied, len(latest))
	for i, e := range latest {
		out[i].Edit = e
		if target[i] < 0 {
			continue
		}
		it := &doc.Items[target[i]]
		out[i].ItemID = it.ID
		switch e.Action {
		case ActionApprove:
			it.Review, it.ProductID = shoppable.ReviewApproved, e.ProductID
		case ActionReject:
			it.Review, it.ProductID = shoppable.ReviewRejected, ""
		case ActionReplace:
			it.Review, it.ProductID = shoppable.ReviewReplaced, e.ProductID
		case ActionReset:
			it.Review, it.ProductID = shoppable.ReviewAuto, ""
		}
	}
	return out
}

// Latest keeps the newest edit of each item (by item id, shot and span),
// newest first.
func Latest(edits []Edit) []Edit {
	type key struct {
		item       string
		shot       int
		start, end float64
	}
	last := map[key]Edit{}
	for _, e := range edits {
		last[key{e.ItemID, e.Shot, e.StartS, e.EndS}] = e
	}
	out := make([]Edit, 0, len(last))
	for _, e := range last {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out
}

// sameItem reports whether an item with the edit's id is still the item
// the edit was made on: same shot and overlapping time span.
func sameItem(e Edit, it shoppable.Item) bool {
	return it.Shot == e.Shot && overlap(e.StartS, e.EndS, it.StartS, it.EndS) >= MinOverlap
}

// overlap is the intersection of two time spans over the shorter one; a
// zero-length span counts as overlapping when it lies inside the other.
func overlap(a0, a1, b0, b1 float64) float64 {
	inter := min(a1, b1) - max(a0, b0)
	short := min(a1-a0, b1-b0)
	if short <= 0 {
		if inter >= 0 {
			return 1
		}
		return 0
	}
	return max(0, inter) / short
}

// ReviewedVideos lists the videos with at least one edit.
func (s *Store) ReviewedVideos(ctx context.Context) ([]string, error) {
	db := s.db
	rows, err := db.Read.QueryContext(ctx, `SELECT DISTINCT video_id FROM review_edits ORDER BY video_id`)
	if err != nil {
		return nil, fmt.Errorf("review: reviewed videos: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("review: reviewed videos: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
