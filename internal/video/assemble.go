package video

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/vitrine-dev/vitrine/internal/confidence"
	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/shoppable"
	"github.com/vitrine-dev/vitrine/internal/taxonomy"
	"github.com/vitrine-dev/vitrine/internal/vision"
)

// BuildDocument assembles the current shoppable document of a video from
// its stored shots, tracks, matches and evidence, with reviewers' edits
// applied and the publish decision made (version and time left to the
// caller).
func (s *Service) BuildDocument(ctx context.Context, id string) (*shoppable.Document, error) {
	doc, _, whole, err := s.candidates(ctx, id)
	if err != nil {
		return nil, err
	}
	if s.deps.Review != nil {
		if err := s.deps.Review.ApplyReview(ctx, id, doc); err != nil {
			return nil, fmt.Errorf("apply review edits: %w", err)
		}
	}
	if err := s.decide(ctx, doc); err != nil {
		return nil, err
	}
	showBoxes(doc, whole)
	return doc, nil
}

// shownBoxes are the boxes a merged item shows, when they differ from the
// ones its confidence and decision were computed on.
type shownBoxes struct {
	// place: the best member's boxes, gaps filled only by members in its
	// place (see placedBoxes).
	place []shoppable.Box
	// whole: the boxes of the whole person its garment region was cut
	// from (see wholeBodyMember), for products worn over the whole body.
	whole []shoppable.Box
}

// showBoxes sets the boxes each item shows. An item merged from several
// tracks shows its best track's boxes with their gaps filled only by
// tracks in the same place: another track of the product elsewhere on
// screen (a person whose cropped surroundings took in a picture of it)
// made the hotspot jump there. An item of a product worn over the whole
// body (a dress, a co-ord set: its label is the product's category) shows
// its whole person where its match came from a garment region of that
// person: a hotspot over the upper body's half of a dress misplaces it.
// Only what is shown changes: the confidence and the publish decision
// were made on the boxes that matched.
func showBoxes(doc *shoppable.Document, shown map[string]shownBoxes) {
	for i, it := range doc.Items {
		sb, ok := shown[it.ID]
		if !ok {
			continue
		}
		if c := taxonomy.FromCategory(it.Label); sb.whole != nil && (c == taxonomy.Dress || c == taxonomy.CoOrd) {
			doc.Items[i].Boxes = sb.whole
		} else if sb.place != nil {
			doc.Items[i].Boxes = sb.place
		}
	}
}

// Candidates returns the document of a video before reviewers' edits and
// the publish decision: every matched item, duplicates merged, with its
// confidence, and the evidence of each item by id. The calibration is
// fitted on these (`vitrine bench calibrate`).
func (s *Service) Candidates(ctx context.Context, id string) (*shoppable.Document, map[string]confidence.Features, error) {
	doc, ev, _, err := s.candidates(ctx, id)
	return doc, ev, err
}

// candidates is Candidates, also returning the boxes items show where
// they differ from the ones decided on (see showBoxes).
func (s *Service) candidates(ctx context.Context, id string) (*shoppable.Document, map[string]confidence.Features, map[string]shownBoxes, error) {
	matches, spans, catVer, err := s.loadMatches(ctx, id)
	if err != nil {
		return nil, nil, nil, err
	}
	ev, err := s.loadEvidence(ctx, id)
	if err != nil {
		return nil, nil, nil, err
	}
	return s.buildDocument(ctx, id, matches, spans, ev, catVer)
}

// trackFrame says what a track's boxes frame, for showBoxes.
type trackFrame uint8

const (
	frameOther  trackFrame = iota
	frameWhole             // a whole person: a person proposal or its outfit region
	frameRegion            // a garment region of a person (upper body, lower body, feet)
	frameWindow            // a class-agnostic window proposal
)

// loadTrackFrames returns what the tracks of a video frame, for those
// that frame a whole person or a part of one, or are window proposals.
func (s *Service) loadTrackFrames(ctx context.Context, id string) (map[int]trackFrame, error) {
	db := s.deps.DB
	rows, err := db.Read.QueryContext(ctx, db.Rebind(`SELECT DISTINCT track_id, grp, source, label FROM video_detections
		WHERE video_id = ? AND track_id IS NOT NULL AND (grp LIKE ? OR (source = ? AND label IN (?, ?)))`),
		id, "garment:%", SourceProposal, "person", LabelWindow)
	if err != nil {
		return nil, fmt.Errorf("load track framing: %w", err)
	}
	defer rows.Close()
	out := map[int]trackFrame{}
	for rows.Next() {
		var tid int
		var grp, source, label string
		if err := rows.Scan(&tid, &grp, &source, &label); err != nil {
			return nil, fmt.Errorf("load track framing: %w", err)
		}
		switch {
		case grp == "garment:"+string(vision.RegionOutfit) || source == SourceProposal && label == "person":
			out[tid] = frameWhole
		case label == LabelWindow && source == SourceProposal:
			if out[tid] == frameOther {
				out[tid] = frameWindow
			}
		case out[tid] != frameWhole:
			out[tid] = frameRegion
		}
	}
	return out, rows.Err()
}

// loadEvidence returns the stored evidence of each matched track.
func (s *Service) loadEvidence(ctx context.Context, id string) (map[int]confidence.Features, error) {
	db := s.deps.DB
	rows, err := db.Read.QueryContext(ctx, db.Rebind(`SELECT track_id, features FROM video_track_evidence WHERE video_id = ?`), id)
	if err != nil {
		return nil, fmt.Errorf("load evidence: %w", err)
	}
	defer rows.Close()
	out := map[int]confidence.Features{}
	for rows.Next() {
		var tid int
		var js string
		if err := rows.Scan(&tid, &js); err != nil {
			return nil, fmt.Errorf("load evidence: %w", err)
		}
		var f confidence.Features
		if err := json.Unmarshal([]byte(js), &f); err != nil {
			return nil, fmt.Errorf("load evidence of track %d: %w", tid, err)
		}
		out[tid] = f
	}
	return out, rows.Err()
}

// loadMatches returns the stored matches of each track, the supported span
// of the tracks that have one (see supportedSpans) and the catalog version
// matched against.
func (s *Service) loadMatches(ctx context.Context, id string) (map[int][]shoppable.Match, map[int][2]float64, string, error) {
	db := s.deps.DB
	matches := map[int][]shoppable.Match{}
	spans := map[int][2]float64{}
	catVer := ""
	rows, err := db.Read.QueryContext(ctx, db.Rebind(`SELECT track_id, product_id, score, catalog_version, start_s, end_s FROM video_matches WHERE video_id = ? ORDER BY track_id, rank`), id)
	if err != nil {
		return nil, nil, "", fmt.Errorf("load matches: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var tid int
		var m shoppable.Match
		var start, end sql.NullFloat64
		if err := rows.Scan(&tid, &m.ProductID, &m.Score, &catVer, &start, &end); err != nil {
			return nil, nil, "", fmt.Errorf("load matches: %w", err)
		}
		m.Score = min(1, max(0, m.Score))
		matches[tid] = append(matches[tid], m)
		if start.Valid && end.Valid {
			spans[tid] = [2]float64{start.Float64, end.Float64}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, "", fmt.Errorf("load matches: %w", err)
	}
	return matches, spans, catVer, nil
}

// buildDocument assembles the candidate document (see Candidates) from
// matches, spans and evidence by track.
func (s *Service) buildDocument(ctx context.Context, id string, matches map[int][]shoppable.Match, spans map[int][2]float64, evidence map[int]confidence.Features, catVer string) (*shoppable.Document, map[string]confidence.Features, map[string]shownBoxes, error) {
	v, err := s.Get(ctx, id)
	if err != nil {
		return nil, nil, nil, err
	}
	shotRows, err := s.loadShots(ctx, id)
	if err != nil {
		return nil, nil, nil, err
	}
	db := s.deps.DB
	doc := &shoppable.Document{
		Video:  shoppable.Video{ID: v.ID, DurationS: v.DurationS, Width: max(v.Width, 1), Height: max(v.Height, 1), FPS: v.FPS},
		Models: shoppable.Models{Detector: v.Detector, Embedder: v.Embedder, Appearance: v.Appearance, CatalogVersion: catVer},
	}
	if doc.Video.FPS <= 0 {
		doc.Video.FPS = 25
	}
	shotSpan := map[int][2]float64{}
	for _, r := range shotRows {
		ks := r.KeyframeS
		sh := shoppable.Shot{Index: r.Index, StartS: r.StartS, EndS: r.EndS, Transition: r.Transition, KeyframeS: &ks}
		if r.Thumbnail != "" {
			sh.Keyframe = "shots/" + strconv.Itoa(r.Index) + ".jpg"
		}
		doc.Shots = append(doc.Shots, sh)
		shotSpan[r.Index] = [2]float64{r.StartS, r.EndS}
	}
	trows, err := db.Read.QueryContext(ctx, db.Rebind(`SELECT track_id, shot, label, start_s, end_s, boxes, review, product_id FROM video_tracks WHERE video_id = ? ORDER BY track_id`), id)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("load tracks: %w", err)
	}
	defer trows.Close()
	framing, err := s.loadTrackFrames(ctx, id)
	if err != nil {
		return nil, nil, nil, err
	}
	var items []shoppable.Item
	var feats []confidence.Features
	var frames []trackFrame
	for trows.Next() {
		var t trackRow
		var boxes string
		if err := trows.Scan(&t.ID, &t.Shot, &t.Label, &t.StartS, &t.EndS, &boxes, &t.Review, &t.ProductID); err != nil {
			return nil, nil, nil, fmt.Errorf("load tracks: %w", err)
		}
		ms := matches[t.ID]
		// A track that matched nothing is not an item (its detections stay
		// stored for re-matching), unless a reviewer named its product.
		if len(ms) == 0 && t.ProductID == "" {
			continue
		}
		if err := json.Unmarshal([]byte(boxes), &t.Boxes); err != nil {
			return nil, nil, nil, fmt.Errorf("track %d boxes: %w", t.ID, err)
		}
		span := shotSpan[t.Shot]
		if sp, ok := spans[t.ID]; ok && len(ms) > 0 && sp[1] > sp[0] {
			// Only the part of the track that shows the product.
			t.StartS, t.EndS = max(t.StartS, sp[0]), min(t.EndS, sp[1])
			t.Boxes = boxesWithin(t.Boxes, t.StartS, t.EndS)
		}
		it := shoppable.Item{ID: "t" + strconv.Itoa(t.ID), Label: t.Label, Shot: t.Shot,
			StartS: clampTo(t.StartS, span), EndS: clampTo(t.EndS, span), Matches: ms, Review: t.Review, ProductID: t.ProductID}
		for _, b := range t.Boxes {
			nb := shoppable.NormBox(clampTo(b.T, span), b.B[0], b.B[1], b.B[2], b.B[3], 1, 1)
			it.Boxes = append(it.Boxes, nb)
		}
		if it.Review == shoppable.ReviewReplaced && it.ProductID == "" {
			it.Review = shoppable.ReviewAuto
		}
		items = append(items, it)
		feats = append(feats, evidence[t.ID])
		frames = append(frames, framing[t.ID])
	}
	if err := trows.Err(); err != nil {
		return nil, nil, nil, fmt.Errorf("load tracks: %w", err)
	}
	byItem := map[string]confidence.Features{}
	shown := map[string]shownBoxes{}
	for _, g := range mergeGroups(items) {
		it := mergeItems(items, g)
		if len(g) > 1 {
			var sb shownBoxes
			sb.place = placedBoxes(items, g, placeMember(items, g, frames))
			if k := wholeBodyMember(items, g, frames); k >= 0 {
				sb.whole = placedBoxes(items, g, k)
			}
			shown[it.ID] = sb
		}
		if len(it.Matches) > 0 {
			members := make([]confidence.Features, len(g))
			best := 0
			for k, i := range g {
				members[k] = feats[i]
				if items[i].ID == it.ID {
					best = k
				}
			}
			byItem[it.ID] = itemFeatures(members, best, it, shotSpan[it.Shot])
		}
		doc.Items = append(doc.Items, it)
	}
	addRivalry(doc.Items, byItem)
	m := s.model()
	for i, it := range doc.Items {
		if f, ok := byItem[it.ID]; ok {
			c := math.Round(m.Confidence(f)*1000) / 1000
			doc.Items[i].Confidence = &c
		}
	}
	if err := s.labelItems(ctx, doc); err != nil {
		return nil, nil, nil, err
	}
	return doc, byItem, shown, nil
}

// boxesWithin keeps the boxes timed within [start, end], or the one nearest
// to that span when none is.
func boxesWithin(bs []boxAt, start, end float64) []boxAt {
	var out []boxAt
	for _, b := range bs {
		if b.T >= start && b.T <= end {
			out = append(out, b)
		}
	}
	if len(out) > 0 || len(bs) == 0 {
		return out
	}
	best, dist := bs[0], math.Inf(1)
	for _, b := range bs {
		if d := math.Max(start-b.T, b.T-end); d < dist {
			best, dist = b, d
		}
	}
	return []boxAt{best}
}

func clampTo(t float64, span [2]float64) float64 {
	if span[1] <= span[0] {
		return t
	}
	return min(max(t, span[0]), span[1])
}

// assemble builds, validates and stores a new version of the video's
// shoppable document and its WebVTT track.
func (s *Service) assemble(ctx context.Context, sc *jobs.StepContext) error {
	doc, err := s.BuildDocument(ctx, sc.Subject)
	if err != nil {
		return err
	}
	// The catalog version matched against, even when nothing matched.
	var mo matchOutput
	if err := sc.Output(StepMatch, &mo); err == nil && mo.CatalogVersion != "" {
		doc.Models.CatalogVersion = mo.CatalogVersion
	}
	db := s.deps.DB
	// The version is fixed inside the commit, so a re-run of this step
	// replaces its own row instead of adding a version.
	var prev int
	if err := db.Read.QueryRowContext(ctx, db.Rebind(`SELECT COALESCE(MAX(version), 0) FROM shoppable_docs WHERE video_id = ? AND workflow_id <> ?`),
		sc.Subject, sc.WorkflowID).Scan(&prev); err != nil {
		return fmt.Errorf("document version: %w", err)
	}
	doc.Version = prev + 1
	doc.GeneratedAt = s.now().Truncate(time.Second)
	js, err := doc.Marshal()
	if err != nil {
		return err
	}
	vtt, err := doc.WebVTT()
	if err != nil {
		return err
	}
	sc.OnCommit(func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.Rebind(`DELETE FROM shoppable_docs WHERE video_id = ? AND workflow_id = ?`), sc.Subject, sc.WorkflowID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO shoppable_docs(video_id, version, workflow_id, catalog_version, doc, vtt, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			sc.Subject, doc.Version, sc.WorkflowID, doc.Models.CatalogVersion, string(js), string(vtt), s.now())
		return err
	})
	published := 0
	for _, it := range doc.Items {
		if it.Shown() {
			published++
		}
	}
	return sc.SetOutput(map[string]int{"version": doc.Version, "items": len(doc.Items), "published": published,
		"needs_review": len(doc.Items) - published, "shots": len(doc.Shots)})
}
