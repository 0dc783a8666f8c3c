package video

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/confidence"
	"github.com/vitrine-dev/vitrine/internal/shoppable"
	"github.com/vitrine-dev/vitrine/internal/track"
)

// defaultMaxHotspots is Config.MaxHotspots when unset.
const defaultMaxHotspots = 3

// Candidate is an item of a video before the publish decision, with the
// evidence its confidence was computed from.
type Candidate struct {
	Item     shoppable.Item
	Features confidence.Features
}

// maxTracksEvidence caps the count of an item's tracks that its confidence
// sees. On the calibration videos right items had 1 to 10 tracks, and more
// tracks meant more often right; the one item with more (16) was a
// background window proposed again and again through the pedestrian
// video's single 79 s shot, and a weight fitted on 1 to 10 tracks, carried
// that far, published it.
const maxTracksEvidence = 8

// itemFeatures combines the evidence of the tracks merged into one item:
// the best member's, with the count of tracks and the item's share of its
// shot added.
func itemFeatures(members []confidence.Features, best int, it shoppable.Item, shot [2]float64) confidence.Features {
	f := confidence.Features{}
	for k, v := range members[best] {
		f[k] = v
	}
	f[confidence.Tracks] = math.Log1p(float64(min(len(members), maxTracksEvidence)))
	if d := shot[1] - shot[0]; d > 0 {
		f[confidence.ShotShare] = min(1, max(0, (it.EndS-it.StartS)/d))
	}
	return f
}

// addRivalry adds to each matched item's features how it fares against
// the other items on screen with it: a product seen in a place where
// another track points more strongly at a different product is probably
// not there (a garment region of an outfit whose whole matches better, a
// window over a corner of the picture).
func addRivalry(items []shoppable.Item, feats map[string]confidence.Features) {
	for i, it := range items {
		f, ok := feats[it.ID]
		if !ok {
			continue
		}
		score := it.Matches[0].Score
		bestShot, bestPlace := math.Inf(-1), math.Inf(-1)
		n := 0
		for j, o := range items {
			if j == i || o.Shot != it.Shot || len(o.Matches) == 0 || o.Matches[0].ProductID == it.Matches[0].ProductID ||
				!(o.StartS < it.EndS && it.StartS < o.EndS) {
				continue
			}
			n++
			bestShot = max(bestShot, o.Matches[0].Score)
			if overlapsInPlace(it.Boxes, o.Boxes) {
				bestPlace = max(bestPlace, o.Matches[0].Score)
			}
		}
		// Margins are capped so an item alone on screen is not infinitely
		// sure.
		f[confidence.ShotMargin] = min(score-bestShot, 0.3)
		f[confidence.PlaceMargin] = min(score-bestPlace, 0.3)
		f[confidence.Rivals] = math.Log1p(float64(n))
	}
}

// overlapsInPlace reports whether two box tracks overlap at close times:
// the larger covers at least mergeMinCover of the smaller.
func overlapsInPlace(a, b []shoppable.Box) bool {
	return boxesMeet(a, b, func(p, q shoppable.Box) bool { return cover(p, q) >= mergeMinCover })
}

// boxesMeet reports whether a box of a and a box of b at most mergeMaxDT
// apart in time satisfy near.
func boxesMeet(a, b []shoppable.Box, near func(p, q shoppable.Box) bool) bool {
	for _, p := range a {
		for _, q := range b {
			if math.Abs(p.T-q.T) <= mergeMaxDT && near(p, q) {
				return true
			}
		}
	}
	return false
}

// model returns the calibration in use.
func (s *Service) model() *confidence.Model {
	if s.cfg.Confidence != nil {
		return s.cfg.Confidence
	}
	return confidence.Default()
}

// liveModel is the calibration of live streams' items: a stream decides
// on a track's first detections, a video on whole tracks merged per shot,
// so the same evidence means less there (see docs/live.md).
func (s *Service) liveModel() *confidence.Model {
	if s.cfg.LiveConfidence != nil {
		return s.cfg.LiveConfidence
	}
	return confidence.DefaultLive()
}

// decide sets each item's status from its confidence and review, labels it
// with its product's catalog category, and removes the candidates that
// are not items: an automatic item is published when its confidence
// reaches the publish threshold, waits for review above the review
// threshold and is dropped below it; approved and replaced items are
// published, rejected ones kept as rejected (players do not show them).
// One place shows one product: an automatic item whose boxes coincide with
// a more confident published item's (another product in the same place)
// is dropped. At most MaxHotspots published items are on screen at once;
// the least confident of more wait for review.
func (s *Service) decide(ctx context.Context, doc *shoppable.Document) error {
	doc.Items = decideItems(doc.Items, s.model(), s.cfg.PublishAt, s.cfg.ReviewAt, s.maxHotspots())
	return s.labelItems(ctx, doc)
}

// decideItems is decide without the labels: it returns the items that stay,
// in their order, with their status set. maxHotspots <= 0 is no cap.
func decideItems(items []shoppable.Item, m *confidence.Model, publishAt, reviewAt float64, maxHotspots int) []shoppable.Item {
	var kept []shoppable.Item
	for _, it := range items {
		c := 0.0
		if it.Confidence != nil {
			c = *it.Confidence
		}
		switch it.Review {
		case shoppable.ReviewApproved, shoppable.ReviewReplaced:
			it.Status = shoppable.StatusPublished
		case shoppable.ReviewRejected:
			it.Status = shoppable.StatusNeedsReview
		default:
			switch m.Decide(c, publishAt, reviewAt) {
			case confidence.Publish:
				it.Status = shoppable.StatusPublished
			case confidence.Review:
				it.Status = shoppable.StatusNeedsReview
			default:
				continue
			}
		}
		kept = append(kept, it)
	}
	// Most confident first for the place and hotspot rules.
	order := make([]int, len(kept))
	for i := range order {
		order[i] = i
	}
	conf := func(i int) float64 {
		it := kept[i]
		if it.Review == shoppable.ReviewApproved || it.Review == shoppable.ReviewReplaced {
			return 2 // a reviewer's word first
		}
		if it.Confidence == nil {
			return 0
		}
		return *it.Confidence
	}
	sort.SliceStable(order, func(a, b int) bool { return conf(order[a]) > conf(order[b]) })
	drop := make([]bool, len(kept))
	var shown []int
	for _, i := range order {
		it := &kept[i]
		if it.Status != shoppable.StatusPublished || it.Review != shoppable.ReviewAuto {
			if it.Status == shoppable.StatusPublished {
				shown = append(shown, i)
			}
			continue
		}
		for _, j := range shown {
			if kept[j].Shot == it.Shot && samePlace(kept[j].Boxes, it.Boxes) && kept[j].Product() != it.Product() {
				drop[i] = true
				break
			}
		}
		if drop[i] {
			continue
		}
		if maxHotspots > 0 && crowded(kept, shown, *it, maxHotspots) {
			it.Status = shoppable.StatusNeedsReview
			continue
		}
		shown = append(shown, i)
	}
	out := kept[:0]
	for i, it := range kept {
		if !drop[i] {
			out = append(out, it)
		}
	}
	return out
}

func (s *Service) maxHotspots() int {
	switch {
	case s.cfg.MaxHotspots < 0:
		return 0
	case s.cfg.MaxHotspots == 0:
		return defaultMaxHotspots
	}
	return s.cfg.MaxHotspots
}

// crowded reports whether adding it to the shown items would put more
// than max of them on screen at some instant.
func crowded(items []shoppable.Item, shown []int, it shoppable.Item, limit int) bool {
	// The count only rises at a start, so checking every start within the
	// new item's span (and its own) suffices.
	points := []float64{it.StartS}
	for _, j := range shown {
		if o := items[j]; o.StartS > it.StartS && o.StartS < it.EndS {
			points = append(points, o.StartS)
		}
	}
	for _, t := range points {
		n := 1
		for _, j := range shown {
			if o := items[j]; o.StartS <= t && t < o.EndS || o.StartS == t {
				n++
			}
		}
		if n > limit {
			return true
		}
	}
	return false
}

// samePlace reports whether two box tracks show the same place at close
// times: boxes of similar size, each covering most of the other.
func samePlace(a, b []shoppable.Box) bool {
	return boxesMeet(a, b, func(p, q shoppable.Box) bool { return trackBox(p).IoU(trackBox(q)) >= 0.6 })
}

// trackBox converts an item box to the tracker's box type, for its IoU.
func trackBox(b shoppable.Box) track.Box {
	return track.Box{X0: b.X, Y0: b.Y, X1: b.X + b.W, Y1: b.Y + b.H}
}

// labelItems names each item by its product's catalog category, the word a
// shopper knows ("dress", "handbags"), not a detector's class name.
func (s *Service) labelItems(ctx context.Context, doc *shoppable.Document) error {
	var ids []string
	for _, it := range doc.Items {
		if p := it.Product(); p != "" {
			ids = append(ids, p)
		}
	}
	if len(ids) == 0 || s.deps.Catalog == nil {
		return nil
	}
	sort.Strings(ids)
	info, err := s.deps.Catalog.ProductInfo(ctx, ids)
	if err != nil {
		return fmt.Errorf("label items: %w", err)
	}
	for i := range doc.Items {
		if p, ok := info[doc.Items[i].Product()]; ok && strings.TrimSpace(p.Category) != "" {
			doc.Items[i].Label = strings.ToLower(strings.TrimSpace(p.Category))
		} else {
			doc.Items[i].Label = "product"
		}
	}
	return nil
}

// reviewLister is a Reviewer that lists the videos it has edits for
// (internal/review.Store).
type reviewLister interface {
	ReviewedVideos(ctx context.Context) ([]string, error)
}

// ReviewSamples turns reviewers' decisions into labelled calibration
// samples: an item approved with its best match is right; one rejected,
// or replaced or approved with another product, is wrong. Items whose
// evidence is not stored (analysed before evidence was kept) are left out.
func (s *Service) ReviewSamples(ctx context.Context) ([]confidence.Sample, error) {
	rl, ok := s.deps.Review.(reviewLister)
	if !ok {
		return nil, nil
	}
	ids, err := rl.ReviewedVideos(ctx)
	if err != nil {
		return nil, err
	}
	var out []confidence.Sample
	for _, id := range ids {
		doc, feats, err := s.Candidates(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("review samples of %s: %w", id, err)
		}
		if err := s.deps.Review.ApplyReview(ctx, id, doc); err != nil {
			return nil, fmt.Errorf("review samples of %s: %w", id, err)
		}
		for _, it := range doc.Items {
			f, ok := feats[it.ID]
			if !ok || len(it.Matches) == 0 {
				continue
			}
			var right bool
			switch it.Review {
			case shoppable.ReviewApproved:
				right = it.ProductID == "" || it.ProductID == it.Matches[0].ProductID
			case shoppable.ReviewRejected, shoppable.ReviewReplaced:
			default:
				continue
			}
			out = append(out, confidence.Sample{Features: f, Right: right, Group: "review:" + id})
		}
	}
	return out, nil
}
