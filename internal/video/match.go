package video

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/vitrine-dev/vitrine/internal/confidence"
	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/match"
	"github.com/vitrine-dev/vitrine/internal/shoppable"
	"github.com/vitrine-dev/vitrine/internal/verify"
	"golang.org/x/sync/errgroup"
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
	// Crops counts the crops verification described, by where their
	// frame came from: kept by the detect step, reused, or decoded again.
	Crops map[string]int `json:"crops,omitempty"`
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
		Timings: map[string]float64{"prepare": prepared, "search": mr.searchS, "verify": mr.verifyS}, Crops: mr.crops})
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
	crops            map[string]int // verification crops by their frame's origin (verification.crops)
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
	// Verification comes first: a candidate it promotes is the track's
	// product for stitching, spans and evidence.
	searched := time.Now()
	ver := &verification{results: map[int][]verify.Result{}}
	if err := s.verifyTracks(ctx, id, tracks, byTrack, ver); err != nil {
		return nil, err
	}
	promoted := promoteVerified(ver, byTrack, results)
	verifyS := time.Since(searched).Seconds()
	stitched, err := stitchTracks(ctx, m, tracks, byTrack)
	if err != nil {
		return nil, err
	}
	// Promotion and stitching make new leads: their evidence needs
	// verifying too.
	again := time.Now()
	if err := s.verifyTracks(ctx, id, tracks, byTrack, ver); err != nil {
		return nil, err
	}
	verifyS += time.Since(again).Seconds()
	spans, support, err := s.supportedSpans(ctx, id, m, tracks, byTrack)
	if err != nil {
		return nil, err
	}
	ev, err := s.trackEvidence(ctx, evidenceInput{results: results, matches: byTrack, stitched: stitched, tracks: tracks, support: support, spans: spans})
	if err != nil {
		return nil, err
	}
	addVerifiedEvidence(ver, promoted, ev)
	return &matchResult{tracks: len(qs), matches: byTrack, spans: spans, evidence: ev, local: ver.fresh, crops: ver.crops,
		searchS: time.Since(start).Seconds() - verifyS, verifyS: verifyS}, nil
}

// matchTracks matches every track query; tracks without a crop vector
// have no result, tracks without a match one with no Matches.
func matchTracks(ctx context.Context, m *match.Matcher, qs map[int]*match.Query, progress func(done, total int)) (map[int]match.Result, error) {
	var (
		mu   sync.Mutex
		out  = map[int]match.Result{}
		done int
	)
	err := eachTrack(ctx, sortedKeys(qs), func(ctx context.Context, id int) error {
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
		var res match.Result
		if len(cq.Crops) > 0 {
			var err error
			if res, err = m.Match(ctx, cq); err != nil {
				return fmt.Errorf("track %d: %w", id, err)
			}
			res.Crops = len(cq.Crops)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(cq.Crops) > 0 {
			out[id] = res
		}
		done++
		if progress != nil {
			progress(done, len(qs))
		}
		return nil
	})
	if err != nil {
		return nil, err
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
	var mu sync.Mutex
	out := map[int][2]float64{}
	share := map[int]float64{}
	err = eachTrack(ctx, sortedKeys(tracks), func(ctx context.Context, tid int) error {
		if len(matches[tid]) == 0 {
			return nil
		}
		product := matches[tid][0].ProductID
		sp, ok, sh, err := trackSupport(tracks[tid], extent[tid], m.MinSupportZ(), func(d detRow) (float64, error) {
			return m.Support(ctx, d.Embedding, product)
		})
		if err != nil {
			return fmt.Errorf("track %d: %w", tid, err)
		}
		mu.Lock()
		defer mu.Unlock()
		if sh >= 0 {
			share[tid] = sh
		}
		if ok {
			out[tid] = sp
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, share, nil
}

// eachTrack runs fn for every track id, on every core: tracks are ranked
// and their support measured independently, in pure Go (the match step
// less verification went 0.67-1.0 s -> 0.38-0.60 s for the bench's
// lookbook reels on two cores, with the same documents). It returns the
// first error.
func eachTrack(ctx context.Context, ids []int, fn func(ctx context.Context, id int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for _, id := range ids {
		g.Go(func() error { return fn(gctx, id) })
	}
	return g.Wait()
}

// trackSupport measures which of a track's detections (in time order)
// support its best product (z gives a detection's support, see
// match.Matcher.Support) and returns the span narrowed to them within
// extent (ok false when the track keeps its extent) and the share of
// supporting detections (-1 when no detection has a crop vector).
func trackSupport(dets []detRow, extent [2]float64, minZ float64, z func(d detRow) (float64, error)) (span [2]float64, ok bool, share float64, err error) {
	var ds []detRow
	for _, d := range dets {
		if len(d.Embedding) > 0 {
			ds = append(ds, d)
		}
	}
	if len(ds) == 0 {
		return span, false, -1, nil
	}
	first, last, n := -1, -1, 0
	for i, d := range ds {
		v, err := z(d)
		if err != nil {
			return span, false, 0, err
		}
		if v >= minZ {
			if first < 0 {
				first = i
			}
			last = i
			n++
		}
	}
	share = float64(n) / float64(len(ds))
	if len(ds) < 2 || first < 0 || first == 0 && last == len(ds)-1 {
		return span, false, share, nil
	}
	start, end := extent[0], extent[1]
	if first > 0 {
		start = (ds[first-1].T + ds[first].T) / 2
	}
	if last < len(ds)-1 {
		end = (ds[last].T + ds[last+1].T) / 2
	}
	return [2]float64{start, end}, true, share, nil
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
