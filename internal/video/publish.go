package video

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/vitrine-dev/vitrine/internal/confidence"
	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/match"
	"github.com/vitrine-dev/vitrine/internal/shoppable"
)

// trackQuery loads the stored crop vectors of every track of a video.
func (s *Service) trackQueries(ctx context.Context, id string) (map[int]*match.Query, error) {
	db := s.deps.DB
	rows, err := db.Read.QueryContext(ctx, db.Rebind(`SELECT e.track_id, e.k, e.kind, e.vector, t.label FROM video_track_embeddings e
		JOIN video_tracks t ON t.video_id = e.video_id AND t.track_id = e.track_id
		WHERE e.video_id = ? ORDER BY e.track_id, e.k, e.kind`), id)
	if err != nil {
		return nil, fmt.Errorf("load track embeddings: %w", err)
	}
	defer rows.Close()
	qs := map[int]*match.Query{}
	type key struct{ track, k int }
	slots := map[key]int{}
	for rows.Next() {
		var tid, k int
		var kind, label string
		var b []byte
		if err := rows.Scan(&tid, &k, &kind, &b, &label); err != nil {
			return nil, fmt.Errorf("load track embeddings: %w", err)
		}
		v, err := decodeVec(b)
		if err != nil {
			return nil, fmt.Errorf("load track embeddings: %w", err)
		}
		q := qs[tid]
		if q == nil {
			q = &match.Query{Label: label}
			qs[tid] = q
		}
		slot, ok := slots[key{tid, k}]
		if !ok {
			slot = len(q.Crops)
			slots[key{tid, k}] = slot
			q.Crops = append(q.Crops, nil)
			q.Appearance = append(q.Appearance, nil)
			q.Colour = append(q.Colour, nil)
		}
		switch kind {
		case EmbCrop:
			q.Crops[slot] = v
		case EmbAppearance:
			q.Appearance[slot] = v
		case EmbColour:
			q.Colour[slot] = v
		}
	}
	return qs, rows.Err()
}

// matchOutput is the stored output of the match step.
type matchOutput struct {
	CatalogVersion string `json:"catalog_version"`
	Tracks         int    `json:"tracks"`
	Matched        int    `json:"matched"`
	// Timings are the seconds spent in the step's parts: prepare (the
	// catalog's models and indexes), search (ranking, stitching, spans,
	// evidence) and verify (local features of crops and products, and
	// their geometric check), so a report can tell where matching spends.
	Timings map[string]float64 `json:"timings,omitempty"`
}

// match ranks catalog products for every track from its stored vectors
// and stores, per matched track, its ranked matches, the span that shows
// the best product and the evidence the confidence is computed from.
func (s *Service) match(ctx context.Context, sc *jobs.StepContext) error {
	if s.deps.Catalog == nil {
		return errors.New("match: no catalog")
	}
	start := time.Now()
	if err := s.prepareCatalog(ctx); err != nil {
		return err
	}
	prepared := time.Since(start).Seconds()
	ver, err := s.deps.Catalog.Version(ctx)
	if err != nil {
		return fmt.Errorf("catalog version: %w", err)
	}
	m, err := match.New(s.cfg.Match, s.deps.Catalog, s.deps.Catalog)
	if err != nil {
		return err
	}
	mr, err := s.matchVideo(ctx, sc.Subject, m, func(done, total int) { sc.Progress(int64(done), int64(total)) })
	if err != nil {
		return err
	}
	type row struct {
		track, rank int
		product     string
		score       float64
		start, end  sql.NullFloat64
	}
	var out []row
	matched := 0
	for _, id := range sortedKeys(mr.matches) {
		if len(mr.matches[id]) > 0 {
			matched++
		}
		var start, end sql.NullFloat64
		if sp, ok := mr.spans[id]; ok {
			start, end = sql.NullFloat64{Float64: sp[0], Valid: true}, sql.NullFloat64{Float64: sp[1], Valid: true}
		}
		for r, mt := range mr.matches[id] {
			out = append(out, row{id, r, mt.ProductID, mt.Score, start, end})
		}
	}
	evidence := map[int]string{}
	for id, f := range mr.evidence {
		b, err := json.Marshal(f)
		if err != nil {
			return fmt.Errorf("track %d evidence: %w", id, err)
		}
		evidence[id] = string(b)
	}

	db := s.deps.DB
	sc.OnCommit(func(ctx context.Context, tx *sql.Tx) error {
		for _, q := range []string{`DELETE FROM video_matches WHERE video_id = ?`, `DELETE FROM video_track_evidence WHERE video_id = ?`} {
			if _, err := tx.ExecContext(ctx, db.Rebind(q), sc.Subject); err != nil {
				return err
			}
		}
		for _, r := range out {
			if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO video_matches(video_id, track_id, rank, product_id, score, catalog_version, start_s, end_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
				sc.Subject, r.track, r.rank, r.product, r.score, ver, r.start, r.end); err != nil {
				return err
			}
		}
		if err := storeTrackLocal(ctx, tx, db.Rebind, sc.Subject, mr.local); err != nil {
			return err
		}
		for _, id := range sortedKeys(evidence) {
			if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO video_track_evidence(video_id, track_id, features) VALUES (?, ?, ?)`),
				sc.Subject, id, evidence[id]); err != nil {
				return err
			}
		}
		return nil
	})
	return sc.SetOutput(matchOutput{CatalogVersion: ver, Tracks: mr.tracks, Matched: matched,
		Timings: map[string]float64{"prepare": prepared, "search": mr.searchS, "verify": mr.verifyS}})
}

// matchResult is what matching a video's stored tracks gives.
type matchResult struct {
	tracks   int                         // tracks with vectors
	matches  map[int][]shoppable.Match   // ranked matches by track
	spans    map[int][2]float64          // the part of a track showing its product (see supportedSpans)
	evidence map[int]confidence.Features // by matched track
	local    []trackLocal                // verification features extracted now, to store
	// searchS and verifyS are the seconds spent ranking (through the
	// evidence) and verifying.
	searchS, verifyS float64
}

// matchVideo matches every stored track of a video with m, stitches broken
// tracks, narrows spans to the detections that show the product and
// gathers each matched track's evidence.
func (s *Service) matchVideo(ctx context.Context, id string, m *match.Matcher, progress func(done, total int)) (*matchResult, error) {
	start := time.Now()
	qs, err := s.trackQueries(ctx, id)
	if err != nil {
		return nil, err
	}
	results, err := matchTracks(ctx, m, qs, progress)
	if err != nil {
		return nil, err
	}
	byTrack := map[int][]shoppable.Match{}
	for tid, r := range results {
		for _, mt := range r.Matches {
			byTrack[tid] = append(byTrack[tid], shoppable.Match{ProductID: mt.ProductID, Score: mt.Score})
		}
	}
	tracks, err := s.trackDetections(ctx, id)
	if err != nil {
		return nil, err
	}
	stitched, err := stitchTracks(ctx, m, tracks, byTrack)
	if err != nil {
		return nil, err
	}
	spans, support, err := s.supportedSpans(ctx, id, m, tracks, byTrack)
	if err != nil {
		return nil, err
	}
	ev, err := s.trackEvidence(ctx, evidenceInput{results: results, matches: byTrack, stitched: stitched, tracks: tracks, support: support, spans: spans})
	if err != nil {
		return nil, err
	}
	searched := time.Now()
	local, err := s.verifyTracks(ctx, id, tracks, byTrack, ev)
	if err != nil {
		return nil, err
	}
	return &matchResult{tracks: len(qs), matches: byTrack, spans: spans, evidence: ev, local: local,
		searchS: searched.Sub(start).Seconds(), verifyS: time.Since(searched).Seconds()}, nil
}

// matchTracks matches every track query; tracks without a crop vector
// have no result, tracks without a match one with no Matches.
func matchTracks(ctx context.Context, m *match.Matcher, qs map[int]*match.Query, progress func(done, total int)) (map[int]match.Result, error) {
	out := map[int]match.Result{}
	for i, id := range sortedKeys(qs) {
		q := qs[id]
		// Keep only slots with a crop vector (not appearance or colour alone).
		cq := match.Query{Label: q.Label}
		for j := range q.Crops {
			if len(q.Crops[j]) > 0 {
				cq.Crops = append(cq.Crops, q.Crops[j])
				cq.Appearance = append(cq.Appearance, q.Appearance[j])
				cq.Colour = append(cq.Colour, q.Colour[j])
			}
		}
		if len(cq.Crops) == 0 {
			continue
		}
		res, err := m.Match(ctx, cq)
		if err != nil {
			return nil, fmt.Errorf("track %d: %w", id, err)
		}
		res.Crops = len(cq.Crops)
		out[id] = res
		if progress != nil {
			progress(i+1, len(qs))
		}
	}
	return out, nil
}

// supportedSpans narrows each matched track to the detections that show
// its best product. A track can begin on something else and drift onto the
// product (a proposal window in front of where it slides in), or outlive it
// (a box left on a person after the garment is gone); its matches hold for
// the middle part only. Each end moves in to the first (last) detection
// whose own crop supports the product (match.Matcher.Support), halfway to
// the unsupported one before (after) it. Support is measured for the best
// match: on the generated videos, accepting support for any listed match
// kept background windows that resemble some product (10 of 18 items
// timed within 1 s, against 12 with the best match only). Tracks whose
// detections all or none support their product keep their extent and get
// no span entry. The second map is, per matched track, the share of its
// detections that support its product: evidence for the confidence.
func (s *Service) supportedSpans(ctx context.Context, id string, m *match.Matcher, tracks map[int][]detRow, matches map[int][]shoppable.Match) (map[int][2]float64, map[int]float64, error) {
	extent, err := s.trackExtents(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	out := map[int][2]float64{}
	share := map[int]float64{}
	for _, tid := range sortedKeys(tracks) {
		if len(matches[tid]) == 0 {
			continue
		}
		var ds []detRow
		for _, d := range tracks[tid] {
			if len(d.Embedding) > 0 {
				ds = append(ds, d)
			}
		}
		if len(ds) == 0 {
			continue
		}
		product := matches[tid][0].ProductID
		first, last, n := -1, -1, 0
		for i, d := range ds {
			z, err := m.Support(ctx, d.Embedding, product)
			if err != nil {
				return nil, nil, fmt.Errorf("track %d: %w", tid, err)
			}
			if z >= m.MinSupportZ() {
				if first < 0 {
					first = i
				}
				last = i
				n++
			}
		}
		share[tid] = float64(n) / float64(len(ds))
		if len(ds) < 2 || first < 0 || first == 0 && last == len(ds)-1 {
			continue
		}
		ext := extent[tid]
		start, end := ext[0], ext[1]
		if first > 0 {
			start = (ds[first-1].T + ds[first].T) / 2
		}
		if last < len(ds)-1 {
			end = (ds[last].T + ds[last+1].T) / 2
		}
		out[tid] = [2]float64{start, end}
	}
	return out, share, nil
}

// trackExtents returns the stored time span of each track of a video.
func (s *Service) trackExtents(ctx context.Context, id string) (map[int][2]float64, error) {
	db := s.deps.DB
	rows, err := db.Read.QueryContext(ctx, db.Rebind(`SELECT track_id, start_s, end_s FROM video_tracks WHERE video_id = ?`), id)
	if err != nil {
		return nil, fmt.Errorf("load tracks: %w", err)
	}
	defer rows.Close()
	out := map[int][2]float64{}
	for rows.Next() {
		var tid int
		var sp [2]float64
		if err := rows.Scan(&tid, &sp[0], &sp[1]); err != nil {
			return nil, fmt.Errorf("load tracks: %w", err)
		}
		out[tid] = sp
	}
	return out, rows.Err()
}

func sortedKeys[V any](m map[int]V) []int {
	ks := make([]int, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	return ks
}

// BuildDocument assembles the current shoppable document of a video from
// its stored shots, tracks, matches and evidence, with reviewers' edits
// applied and the publish decision made (version and time left to the
// caller).
func (s *Service) BuildDocument(ctx context.Context, id string) (*shoppable.Document, error) {
	doc, _, err := s.Candidates(ctx, id)
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
	return doc, nil
}

// Candidates returns the document of a video before reviewers' edits and
// the publish decision: every matched item, duplicates merged, with its
// confidence, and the evidence of each item by id. The calibration is
// fitted on these (`vitrine bench calibrate`).
func (s *Service) Candidates(ctx context.Context, id string) (*shoppable.Document, map[string]confidence.Features, error) {
	matches, spans, catVer, err := s.loadMatches(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	ev, err := s.loadEvidence(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	return s.buildDocument(ctx, id, matches, spans, ev, catVer)
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
func (s *Service) buildDocument(ctx context.Context, id string, matches map[int][]shoppable.Match, spans map[int][2]float64, evidence map[int]confidence.Features, catVer string) (*shoppable.Document, map[string]confidence.Features, error) {
	v, err := s.Get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	shotRows, err := s.loadShots(ctx, id)
	if err != nil {
		return nil, nil, err
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
		return nil, nil, fmt.Errorf("load tracks: %w", err)
	}
	defer trows.Close()
	var items []shoppable.Item
	var feats []confidence.Features
	for trows.Next() {
		var t trackRow
		var boxes string
		if err := trows.Scan(&t.ID, &t.Shot, &t.Label, &t.StartS, &t.EndS, &boxes, &t.Review, &t.ProductID); err != nil {
			return nil, nil, fmt.Errorf("load tracks: %w", err)
		}
		ms := matches[t.ID]
		// A track that matched nothing is not an item (its detections stay
		// stored for re-matching), unless a reviewer named its product.
		if len(ms) == 0 && t.ProductID == "" {
			continue
		}
		if err := json.Unmarshal([]byte(boxes), &t.Boxes); err != nil {
			return nil, nil, fmt.Errorf("track %d boxes: %w", t.ID, err)
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
	}
	if err := trows.Err(); err != nil {
		return nil, nil, fmt.Errorf("load tracks: %w", err)
	}
	byItem := map[string]confidence.Features{}
	for _, g := range mergeGroups(items) {
		it := mergeItems(items, g)
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
		return nil, nil, err
	}
	return doc, byItem, nil
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

// WebhookEvent is the body of the publish webhook.
type WebhookEvent struct {
	Event          string    `json:"event"`
	VideoID        string    `json:"video_id"`
	Version        int       `json:"version"`
	CatalogVersion string    `json:"catalog_version"`
	Items          int       `json:"items"` // items shown to viewers
	PublishedAt    time.Time `json:"published_at"`
}

// Webhook headers.
const (
	HeaderSignature = "X-Vitrine-Signature"
	HeaderTimestamp = "X-Vitrine-Timestamp"
	HeaderEvent     = "X-Vitrine-Event"
)

// Sign returns the signature header value of a webhook body sent at ts:
// "sha256=" + hex(HMAC-SHA256(secret, ts + "." + body)).
func Sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature checks a webhook signature in constant time.
func VerifySignature(secret []byte, ts string, body []byte, sig string) bool {
	return hmac.Equal([]byte(Sign(secret, ts, body)), []byte(sig))
}

// publish marks the latest document published and the video ready, then
// notifies the webhook when one is configured. A webhook that keeps failing
// is recorded but does not unpublish the video.
func (s *Service) publish(ctx context.Context, sc *jobs.StepContext) error {
	db := s.deps.DB
	var ev WebhookEvent
	var items sql.NullString
	err := db.Read.QueryRowContext(ctx, db.Rebind(`SELECT version, catalog_version, doc FROM shoppable_docs WHERE video_id = ? ORDER BY version DESC LIMIT 1`), sc.Subject).
		Scan(&ev.Version, &ev.CatalogVersion, &items)
	if err != nil {
		return fmt.Errorf("load document: %w", err)
	}
	var doc struct {
		Items []shoppable.Item `json:"items"`
	}
	if err := json.Unmarshal([]byte(items.String), &doc); err != nil {
		return fmt.Errorf("load document: %w", err)
	}
	shown := 0
	for _, it := range doc.Items {
		if it.Shown() {
			shown++
		}
	}
	ev.Event, ev.VideoID, ev.Items, ev.PublishedAt = "video.published", sc.Subject, shown, s.now().Truncate(time.Second)
	var delivery *deliveryResult
	if s.cfg.WebhookURL != "" {
		d := s.deliver(ctx, ev)
		delivery = &d
		if d.err != nil {
			sc.Log("webhook delivery failed", "url", s.cfg.WebhookURL, "attempts", d.attempts, "err", d.err.Error())
		}
	}
	sc.OnCommit(func(ctx context.Context, tx *sql.Tx) error {
		now := s.now()
		if _, err := tx.ExecContext(ctx, db.Rebind(`UPDATE shoppable_docs SET published_at = ? WHERE video_id = ? AND version = ?`), now, sc.Subject, ev.Version); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.Rebind(`UPDATE videos SET state = ?, error = '', doc_version = ?, ready_at = ?, updated_at = ? WHERE id = ?`),
			StateReady, ev.Version, now, now, sc.Subject); err != nil {
			return err
		}
		if delivery == nil {
			return nil
		}
		var at any
		msg := ""
		if delivery.err == nil {
			at = now
		} else {
			msg = delivery.err.Error()
		}
		_, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO video_webhook_deliveries(video_id, version, url, attempts, status, error, delivered_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
			sc.Subject, ev.Version, s.cfg.WebhookURL, delivery.attempts, delivery.status, msg, at, now)
		return err
	})
	return nil
}

type deliveryResult struct {
	attempts, status int
	err              error
}

// deliver POSTs the signed event, retrying network errors, 429 and 5xx
// with exponential backoff.
func (s *Service) deliver(ctx context.Context, ev WebhookEvent) deliveryResult {
	body, err := json.Marshal(ev)
	if err != nil {
		return deliveryResult{err: err}
	}
	var res deliveryResult
	wait := s.cfg.WebhookBackoff
	for res.attempts < s.cfg.WebhookAttempts {
		res.attempts++
		ts := strconv.FormatInt(s.now().Unix(), 10)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.WebhookURL, bytes.NewReader(body))
		if err != nil {
			res.err = fmt.Errorf("webhook: %w", err)
			return res
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(HeaderTimestamp, ts)
		req.Header.Set(HeaderEvent, ev.Event)
		req.Header.Set(HeaderSignature, Sign([]byte(s.cfg.WebhookSecret), ts, body))
		resp, err := s.deps.HTTP.Do(req)
		if err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			res.status = resp.StatusCode
			switch {
			case resp.StatusCode >= 200 && resp.StatusCode < 300:
				res.err = nil
				return res
			case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
				res.err = fmt.Errorf("webhook: status %d", resp.StatusCode)
			default:
				res.err = fmt.Errorf("webhook: status %d (not retried)", resp.StatusCode)
				return res
			}
		} else {
			res.err = fmt.Errorf("webhook: %w", err)
		}
		if res.attempts == s.cfg.WebhookAttempts {
			break
		}
		select {
		case <-ctx.Done():
			res.err = errors.Join(res.err, ctx.Err())
			return res
		case <-time.After(wait):
		}
		wait *= 2
	}
	return res
}
