package video

import (
	"context"
	"errors"
	"fmt"
	"image"
	"maps"
	"math"
	"sort"
	"strconv"

	"github.com/vitrine-dev/vitrine/internal/confidence"
	"github.com/vitrine-dev/vitrine/internal/match"
	"github.com/vitrine-dev/vitrine/internal/media"
	"github.com/vitrine-dev/vitrine/internal/shoppable"
	"github.com/vitrine-dev/vitrine/internal/track"
	"github.com/vitrine-dev/vitrine/internal/verify"
	"github.com/vitrine-dev/vitrine/internal/vision"
)

// Live event types, in the order an item sends them.
const (
	LiveItemStart  = "item.start"  // the item passed the publish decision
	LiveItemUpdate = "item.update" // the announced item was seen again (new box)
	LiveItemEnd    = "item.end"    // its track ended: the item left the picture
)

// LiveItem is an item of a live stream as its events carry it.
type LiveItem struct {
	ID         string            `json:"id"` // "t<track>", unique within the stream
	Label      string            `json:"label"`
	ProductID  string            `json:"product_id"`
	Matches    []shoppable.Match `json:"matches"`
	Confidence float64           `json:"confidence"`
	// FirstS is the stream time of the track's first detection, T the
	// stream time of the frame that caused the event; for item.end, of the
	// last frame whose crops showed the product (seconds before the frame
	// that ended it, when its track went on to something else).
	FirstS float64 `json:"first_s"`
	T      float64 `json:"t"`
	// PTS is, for an HLS source, that frame's presentation time in the
	// stream's own clock (its MPEG-TS PTS in seconds): a viewer's player of
	// the same playlist shows the event with the frame it came from rather
	// than when it arrives, seconds ahead of a player's buffered picture.
	PTS float64 `json:"pts,omitempty"`
	// Box is the item's latest box (absent on item.end).
	Box *shoppable.Box `json:"box,omitempty"`
}

// LiveEvent is one change of a live stream's items.
type LiveEvent struct {
	Type string   `json:"type"`
	Item LiveItem `json:"item"`
}

// LiveConfig tunes the rolling analysis of a live stream. Zero fields take
// their defaults.
type LiveConfig struct {
	// Window is how many of a track's latest detections are kept and
	// matched (default 20: 10 s at 2 frames per second); older ones are
	// dropped, so a product that stays on screen for an hour costs what
	// one that stays for Window frames does.
	Window int
	// MatchEvery re-matches an active track after this many new
	// detections (default 2); a track is first matched when it has
	// Track.MinLength detections.
	MatchEvery int
	// Confirm is how many matches in a row must rank the same product
	// first before its item can be announced (default 1: the first match
	// that passes the publish decision). A viewer cannot un-see a
	// hotspot, and a track's first crops sometimes rank a look-alike
	// first. On the bench's live suite 2 announced 0.75 right against
	// 0.63 but with a p95 latency of 8.9 s against 3.7 s (runs on a loaded
	// 2-core machine, where dropped frames vary from run to run; see
	// docs/live.md).
	Confirm int
	// Decisions, when set, is told of every item whose track was matched
	// again, with the evidence its confidence came from, at stream time t:
	// `vitrine bench calibrate --live` labels them to fit the live
	// calibration.
	Decisions func(t float64, it shoppable.Item, f confidence.Features)
}

func (c LiveConfig) withDefaults() LiveConfig {
	if c.Window <= 0 {
		c.Window = 20
	}
	if c.MatchEvery <= 0 {
		c.MatchEvery = 2
	}
	if c.Confirm <= 0 {
		c.Confirm = 1
	}
	return c
}

// liveTrack is what the analyser keeps of an active track.
type liveTrack struct {
	first     float64
	dets      []detRow // the latest Window detections, in time order
	matchedAt int      // detections seen when last matched (0: never)
	seen      int      // detections seen in all
	item      *shoppable.Item
	feats     confidence.Features
	announced *LiveItem
	support   map[int]float64 // by frame, for the current best product
	product   string          // whose support is cached
	agree     int             // matches in a row that ranked product first
	decided   int             // matchedAt when Decisions was last told
	// announcements counts the items the track announced.
	announcements int
	// shownUntil is the stream time up to which the track's crops
	// supported its announced item's product.
	shownUntil float64
	// local is the local features of the track's largest crop described
	// so far (liveLocalGrowth), localArea that crop's box area.
	local     *vision.LocalFeatures
	localArea float64
}

// A live track's crop is described again for verification when its box
// in the current frame covers at least liveLocalGrowth times the area of
// the one described: the largest crop has the most keypoints (the video
// pipeline takes the track's largest), but a stream's frames are gone once
// analysed and extraction costs about as much as a detection.
const liveLocalGrowth = 2

// liveFreshS is how recent, in seconds of stream time, the part of a
// track that supports its product must be for its item to be announced or
// updated: at 2 frames a second a supported span ends a quarter second
// past its last supporting crop, so the latest crop may support it less
// (a hand passing over), not the two latest (1 s allowed 2 announcements
// of products that had left, on the bench's lookbook reels).
const liveFreshS = 0.5

// liveStaleS is how old, in seconds of stream time, the crops that support
// an announced item's product may get before the item ends (moveOn): a
// little longer than liveFreshS, so that an item does not end and start
// again as one frame's support comes and goes.
const liveStaleS = 1.5

// LiveAnalyzer runs the video pipeline's detection, tracking, matching and
// confidence decision over a stream's frames as they arrive: a track's
// item is announced (item.start) on the first frame its confidence passes
// the publish decision, updated while it is seen and ended when the
// tracker ends its track. It is not safe for concurrent use; frames must
// come in time order.
type LiveAnalyzer struct {
	s       *Service
	cfg     LiveConfig
	m       *match.Matcher
	tracker *track.Tracker
	tracks  map[int]*liveTrack
	// local gives products' local features for verification; nil without
	// a local-feature model or a catalog that stores them.
	local productLocal
	frame int
	start float64 // stream time of the first frame
}

// NewLiveAnalyzer loads the models and the catalog's matcher and returns
// an analyser for one stream.
func (s *Service) NewLiveAnalyzer(ctx context.Context, cfg LiveConfig) (*LiveAnalyzer, error) {
	if s.deps.Catalog == nil {
		return nil, errors.New("live: no catalog")
	}
	if err := s.ensureModels(ctx); err != nil {
		return nil, err
	}
	if err := s.prepareCatalog(ctx); err != nil {
		return nil, err
	}
	m, err := match.New(s.cfg.Match, s.deps.Catalog, s.deps.Catalog)
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	tr := track.NewTracker(s.cfg.Track, 0)
	tr.KeepLast(cfg.Window)
	a := &LiveAnalyzer{s: s, cfg: cfg, m: m, tracker: tr, tracks: map[int]*liveTrack{}, start: math.NaN()}
	if pl, ok := s.deps.Catalog.(productLocal); ok && s.deps.Local != nil {
		a.local = pl
	}
	return a, nil
}

// DetectSize bounds the longer side of the frames the analyser expects
// (the video pipeline's detection size).
func (a *LiveAnalyzer) DetectSize() int { return a.s.cfg.DetectSize }

// Frame analyses one frame at stream time t and returns the events it
// causes.
func (a *LiveAnalyzer) Frame(ctx context.Context, img *image.RGBA, t float64) ([]LiveEvent, error) {
	if math.IsNaN(a.start) {
		a.start = t
	}
	a.frame++
	rows, err := a.s.detectFrame(ctx, img, sampledFrame{Frame: a.frame, T: t})
	if err != nil {
		return nil, fmt.Errorf("live: frame at %.2f s: %w", t, err)
	}
	b := img.Bounds()
	w, h := float64(b.Dx()), float64(b.Dy())
	tf := track.Frame{T: t, Frame: a.frame}
	for i, d := range rows {
		feat := d.Appearance
		if len(feat) == 0 {
			feat = d.Embedding
		}
		tf.Dets = append(tf.Dets, track.Detection{
			Box:   track.Box{X0: d.Box[0] * w, Y0: d.Box[1] * h, X1: d.Box[2] * w, Y1: d.Box[3] * h},
			Label: d.Group, Score: d.Score, Feature: feat, Ref: int64(i),
		})
	}
	var events []LiveEvent
	for _, e := range a.tracker.Add(tf) {
		events = append(events, a.end(e.ID, t)...)
	}
	// Tracks the tracker dropped without keeping (too short) end too.
	active := a.tracker.Active()
	open := map[int]bool{}
	for _, tr := range active {
		open[tr.ID] = true
		lt := a.tracks[tr.ID]
		if lt == nil {
			lt = &liveTrack{first: tr.Dets[0].T}
			a.tracks[tr.ID] = lt
		}
		if last := tr.Dets[len(tr.Dets)-1]; last.Frame == a.frame {
			lt.dets = append(lt.dets, rows[last.Ref])
			lt.seen++
			if n := len(lt.dets) - a.cfg.Window; n > 0 {
				lt.dets = append(lt.dets[:0:0], lt.dets[n:]...)
			}
		}
	}
	for _, id := range sortedKeys(a.tracks) {
		if !open[id] {
			events = append(events, a.end(id, t)...)
		}
	}
	if err := a.matchTracks(ctx, img, t); err != nil {
		return events, err
	}
	return append(events, a.decide(ctx, t)...), nil
}

// Close ends every open item (the stream ended) and returns the events.
func (a *LiveAnalyzer) Close(t float64) []LiveEvent {
	var events []LiveEvent
	for _, id := range sortedKeys(a.tracks) {
		events = append(events, a.end(id, t)...)
	}
	a.tracker.Flush()
	return events
}

// end forgets a track and returns its item.end when it was announced,
// unless another open track shows the same product: that one carries the
// item on (see decide).
func (a *LiveAnalyzer) end(id int, t float64) []LiveEvent {
	lt, ok := a.tracks[id]
	if !ok {
		return nil
	}
	delete(a.tracks, id)
	if lt.announced == nil {
		return nil
	}
	return a.handOn(lt, t)
}

// newProducts returns the most confident of starts for each product that
// announced lacks, by item id.
func newProducts(starts []shoppable.Item, announced map[string]bool) []shoppable.Item {
	conf := func(it shoppable.Item) float64 {
		if it.Confidence == nil {
			return 0
		}
		return *it.Confidence
	}
	sort.Slice(starts, func(i, j int) bool {
		if ci, cj := conf(starts[i]), conf(starts[j]); ci != cj {
			return ci > cj
		}
		return starts[i].ID < starts[j].ID
	})
	var out []shoppable.Item
	seen := map[string]bool{}
	maps.Copy(seen, announced)
	for _, it := range starts {
		if !seen[it.Product()] {
			seen[it.Product()] = true
			out = append(out, it)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// showing returns an open track without an announced item whose current
// item has product, supported by its crops of the last liveFreshS before
// t, the lowest id first; nil when there is none.
func (a *LiveAnalyzer) showing(product string, t float64) *liveTrack {
	for _, id := range sortedKeys(a.tracks) {
		lt := a.tracks[id]
		if lt.announced == nil && lt.shows(product, t-liveFreshS) {
			return lt
		}
	}
	return nil
}

// shows reports whether the track's latest match ranks product first,
// supported by its crops up to since or later.
func (lt *liveTrack) shows(product string, since float64) bool {
	return lt.item != nil && lt.item.Product() == product && lt.item.EndS >= since
}

// handOn takes the announced item off track lt at stream time t: another
// open track that shows its product carries it on, or it ends, dated when
// lt last showed its product (seconds before t, when the item moved on):
// a player that shows events with their frames takes the hotspot off
// with the product.
func (a *LiveAnalyzer) handOn(lt *liveTrack, t float64) []LiveEvent {
	li := lt.announced
	lt.announced = nil
	if heir := a.showing(li.ProductID, t); heir != nil {
		heir.announced, heir.shownUntil = li, heir.item.EndS
		return nil
	}
	it := *li
	it.T, it.Box = t, nil
	if lt.shownUntil > 0 && lt.shownUntil < t {
		it.T = lt.shownUntil
	}
	return []LiveEvent{{Type: LiveItemEnd, Item: it}}
}

// moveOn ends the announced items of tracks that went on to show
// something else: tracks run on through a cut to the next shot's garment
// at the same place, or a host puts a product down, and a hotspot that
// stayed until its track ended outlived its product by 4 to 6 s on the
// bench's lookbook reels (up to 16 s), naming a product the picture no
// longer shows. An item moves on when its track's latest match ranks
// another product first, or the crops that support it, or the track's
// latest detection, are older than liveStaleS. The track may announce
// again.
func (a *LiveAnalyzer) moveOn(t float64) []LiveEvent {
	var events []LiveEvent
	for _, id := range sortedKeys(a.tracks) {
		lt := a.tracks[id]
		if lt.announced == nil || lt.item == nil {
			continue
		}
		seen := len(lt.dets) > 0 && lt.dets[len(lt.dets)-1].T >= t-liveStaleS
		if seen && lt.shows(lt.announced.ProductID, t-liveStaleS) {
			continue
		}
		events = append(events, a.handOn(lt, t)...)
	}
	return events
}

// matchTracks (re)matches the active tracks that gained MatchEvery
// detections since their last match, as the match step does for a
// video's tracks: the best crops of the window, ranked against the
// catalog, verified by local features (which may put a lower candidate
// first), the span that supports the best product and the evidence. img
// is the current frame.
func (a *LiveAnalyzer) matchTracks(ctx context.Context, img *image.RGBA, t float64) error {
	minLen := max(a.s.cfg.Track.MinLength, 2)
	for _, id := range sortedKeys(a.tracks) {
		lt := a.tracks[id]
		if lt.seen < minLen || lt.matchedAt > 0 && lt.seen-lt.matchedAt < a.cfg.MatchEvery || len(lt.dets) == 0 {
			continue
		}
		lt.matchedAt = lt.seen
		q, err := a.query(lt.dets)
		if err != nil {
			continue // no crop vector yet
		}
		res, err := a.m.Match(ctx, q)
		if err != nil {
			return fmt.Errorf("live: match track %d: %w", id, err)
		}
		res.Crops = len(q.Crops)
		var ms []shoppable.Match
		for _, mt := range res.Matches {
			ms = append(ms, shoppable.Match{ProductID: mt.ProductID, Score: min(1, max(0, mt.Score))})
		}
		if len(ms) == 0 {
			lt.item, lt.feats, lt.product, lt.agree = nil, nil, "", 0
			continue
		}
		ver, err := a.verifyTrack(ctx, id, lt, img, ms)
		if err != nil {
			return fmt.Errorf("live: verify track %d: %w", id, err)
		}
		promoted := promoteVerified(ver, map[int][]shoppable.Match{id: ms}, map[int]match.Result{id: res})
		product := ms[0].ProductID
		if product != lt.product {
			lt.product, lt.support, lt.agree = product, map[int]float64{}, 0
		}
		lt.agree++
		extent := [2]float64{lt.dets[0].T, lt.dets[len(lt.dets)-1].T}
		span, ok, share, err := trackSupport(lt.dets, extent, a.m.MinSupportZ(), func(d detRow) (float64, error) {
			if v, ok := lt.support[d.Frame]; ok {
				return v, nil
			}
			v, err := a.m.Support(ctx, d.Embedding, product)
			lt.support[d.Frame] = v
			return v, err
		})
		if err != nil {
			return fmt.Errorf("live: track %d support: %w", id, err)
		}
		for f := range lt.support {
			if f < lt.dets[0].Frame {
				delete(lt.support, f) // left the window
			}
		}
		in := evidenceInput{results: map[int]match.Result{id: res}, matches: map[int][]shoppable.Match{id: ms},
			tracks: map[int][]detRow{id: lt.dets}, support: map[int]float64{}, spans: map[int][2]float64{}}
		if share >= 0 {
			in.support[id] = share
		}
		if ok {
			in.spans[id] = span
		}
		ev, err := a.s.trackEvidence(ctx, in)
		if err != nil {
			return fmt.Errorf("live: track %d: %w", id, err)
		}
		addVerifiedEvidence(ver, promoted, ev)
		it := shoppable.Item{ID: "t" + strconv.Itoa(id), Label: lt.dets[0].Label, StartS: extent[0], EndS: extent[1],
			Matches: ms, Review: shoppable.ReviewAuto}
		if ok {
			it.StartS, it.EndS = span[0], span[1]
		}
		for _, d := range lt.dets {
			if d.T >= it.StartS && d.T <= it.EndS {
				it.Boxes = append(it.Boxes, shoppable.NormBox(d.T, d.Box[0], d.Box[1], d.Box[2], d.Box[3], 1, 1))
			}
		}
		// The stream so far plays the part of the shot.
		lt.item, lt.feats = &it, itemFeatures([]confidence.Features{ev[id]}, 0, it, [2]float64{a.start, t})
		if lt.announced != nil && product == lt.announced.ProductID {
			lt.shownUntil = max(lt.shownUntil, it.EndS)
		}
	}
	return nil
}

// verifyTrack verifies live track id's crop against its first candidates
// ms, as the match step verifies a video's lead tracks. The crop is cut
// from the current frame img when the track is seen there and its box has
// grown enough since the crop described last (liveLocalGrowth); otherwise
// that one's features are used again.
func (a *LiveAnalyzer) verifyTrack(ctx context.Context, id int, lt *liveTrack, img *image.RGBA, ms []shoppable.Match) (*verification, error) {
	v := &verification{results: map[int][]verify.Result{}}
	if a.local == nil {
		return v, nil
	}
	if last := lt.dets[len(lt.dets)-1]; last.Frame == a.frame {
		area := (last.Box[2] - last.Box[0]) * (last.Box[3] - last.Box[1])
		if lt.local == nil || area >= liveLocalGrowth*lt.localArea {
			lf, err := a.s.cropLocal(ctx, img, last.Box)
			if err != nil {
				return nil, err
			}
			if lf != nil {
				lt.local, lt.localArea = lf, area
			}
		}
	}
	if lt.local == nil {
		return v, nil
	}
	ids := make([]string, 0, verifyCandidates)
	for _, m := range ms[:min(len(ms), verifyCandidates)] {
		ids = append(ids, m.ProductID)
	}
	prod, err := a.local.ProductLocalFeatures(ctx, a.s.deps.Local, ids)
	if err != nil {
		return nil, fmt.Errorf("product features: %w", err)
	}
	if res := verifyAgainst(lt.local, ms, prod); res != nil {
		v.results[id] = res
	}
	return v, nil
}

// query builds a track's match query from the best crops of dets, as the
// embed step chooses them.
func (a *LiveAnalyzer) query(dets []detRow) (match.Query, error) {
	infos := make([]match.CropInfo, len(dets))
	for j, d := range dets {
		infos[j] = match.CropInfo{T: d.T, Score: d.Score, AreaFrac: (d.Box[2] - d.Box[0]) * (d.Box[3] - d.Box[1]),
			Sharpness: d.Sharpness, EdgeCut: d.EdgeCut, Occlusion: d.Occlusion}
	}
	q := match.Query{Label: dets[0].Label}
	for _, j := range match.SelectCrops(infos, a.s.cfg.CropsPerTrack, 0.4) {
		d := dets[j]
		if len(d.Embedding) == 0 {
			continue
		}
		q.Crops = append(q.Crops, d.Embedding)
		q.Appearance = append(q.Appearance, d.Appearance)
		q.Colour = append(q.Colour, d.Colour)
	}
	if len(q.Crops) == 0 {
		return q, errors.New("no crop vector")
	}
	return q, nil
}

// decide runs the publish decision over the matched active tracks, as
// the video's decide step does over a document's items (rivalry between
// items on screen together, calibrated confidence, one product per place,
// at most MaxHotspots at once), and returns the starts of newly published
// items and the updates of announced ones seen in this frame. An
// announced item stays until its track ends.
func (a *LiveAnalyzer) decide(ctx context.Context, t float64) []LiveEvent {
	var items []shoppable.Item
	feats := map[string]confidence.Features{}
	byID := map[string]*liveTrack{}
	for _, id := range sortedKeys(a.tracks) {
		lt := a.tracks[id]
		if lt.item == nil {
			continue
		}
		items = append(items, *lt.item)
		f := confidence.Features{}
		for k, v := range lt.feats {
			f[k] = v
		}
		feats[lt.item.ID] = f
		byID[lt.item.ID] = lt
	}
	addRivalry(items, feats)
	m := a.s.liveModel()
	for i := range items {
		c := math.Round(m.Confidence(feats[items[i].ID])*1000) / 1000
		items[i].Confidence = &c
		if lt := byID[items[i].ID]; a.cfg.Decisions != nil && lt.decided != lt.matchedAt {
			lt.decided = lt.matchedAt
			a.cfg.Decisions(t, items[i], feats[items[i].ID])
		}
	}
	published := map[string]shoppable.Item{}
	for _, it := range decideItems(items, m, a.s.cfg.PublishAt, a.s.cfg.ReviewAt, a.s.maxHotspots()) {
		if it.Status == shoppable.StatusPublished {
			published[it.ID] = it
		}
	}
	// One item per product on screen, as a video has one per product and
	// shot: several tracks of one product (a person's garment region and
	// the whole person, a track broken and picked up again) would show the
	// viewer the same product several times. The most confident is
	// announced; the others wait and carry it on when its track ends.
	events := a.moveOn(t)
	announced := map[string]bool{}
	for _, lt := range a.tracks {
		if lt.announced != nil {
			announced[lt.announced.ProductID] = true
		}
	}
	var starts []shoppable.Item
	for _, it := range published {
		if a.announceable(it, byID[it.ID], t) {
			starts = append(starts, it)
		}
	}
	starts = newProducts(starts, announced)
	if len(starts) > 0 {
		doc := &shoppable.Document{Items: starts}
		if err := a.s.labelItems(ctx, doc); err != nil {
			a.s.log.Warn("live: label items", "err", err)
		}
		starts = doc.Items
	}
	for _, it := range starts {
		lt := byID[it.ID]
		// A track's later announcements get ids of their own.
		lt.announcements++
		if lt.announcements > 1 {
			it.ID = it.ID + "." + strconv.Itoa(lt.announcements)
		}
		li := LiveItem{ID: it.ID, Label: it.Label, ProductID: it.Product(), Matches: it.Matches, Confidence: *it.Confidence,
			FirstS: lt.first, T: t, Box: lastBox(lt, a.frame)}
		lt.announced, lt.shownUntil = &li, it.EndS
		events = append(events, LiveEvent{Type: LiveItemStart, Item: li})
	}
	for _, id := range sortedKeys(a.tracks) {
		lt := a.tracks[id]
		if lt.announced == nil || lt.announced.T == t {
			continue
		}
		b := lastBox(lt, a.frame)
		if b == nil {
			continue // not seen in this frame
		}
		if !lt.shows(lt.announced.ProductID, t-liveFreshS) {
			continue // this box may show something else: the item waits where it was
		}
		li := *lt.announced
		li.T, li.Box = t, b
		if it, ok := published[lt.item.ID]; ok && it.Confidence != nil {
			li.Confidence = *it.Confidence
		}
		lt.announced = &li
		events = append(events, LiveEvent{Type: LiveItemUpdate, Item: li})
	}
	return events
}

// announceable reports whether the published item it of track lt may be
// announced at stream time t: not yet announced, ranked first by enough
// matches in a row (LiveConfig.Confirm), and supported by the track's
// latest crops. A track that went on to show something else (a host
// putting one product down and picking up the next at the same place) can
// still rank the product it showed most first; announced then, its
// hotspot would name a product that has left.
func (a *LiveAnalyzer) announceable(it shoppable.Item, lt *liveTrack, t float64) bool {
	return lt.announced == nil && lt.agree >= a.cfg.Confirm && it.EndS >= t-liveFreshS
}

// lastBox returns the track's box in frame, nil when it was not seen in it.
func lastBox(lt *liveTrack, frame int) *shoppable.Box {
	if len(lt.dets) == 0 {
		return nil
	}
	d := lt.dets[len(lt.dets)-1]
	if d.Frame != frame {
		return nil
	}
	b := shoppable.NormBox(d.T, d.Box[0], d.Box[1], d.Box[2], d.Box[3], 1, 1)
	return &b
}

// LiveDecision is one decision of a live analyser: an item whose track was
// matched again at stream time T, with the evidence of its confidence.
type LiveDecision struct {
	T        float64
	Item     shoppable.Item
	Features confidence.Features
}

// ReplayLive runs a live analyser over the video file at path as fast as
// the machine allows, on the frames a stream of it would give (2 a second
// at the detection size, none dropped), and returns its decisions (see
// LiveConfig.Decisions) and the events it caused. `vitrine bench
// calibrate --live` labels the decisions to fit the live calibration.
func (s *Service) ReplayLive(ctx context.Context, path string, cfg LiveConfig) ([]LiveDecision, []LiveEvent, error) {
	var ds []LiveDecision
	cfg.Decisions = func(t float64, it shoppable.Item, f confidence.Features) {
		ds = append(ds, LiveDecision{T: t, Item: it, Features: maps.Clone(f)})
	}
	a, err := s.NewLiveAnalyzer(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	var events []LiveEvent
	last := 0.0
	size := a.DetectSize()
	err = s.deps.Media.Frames(ctx, path, media.FrameOptions{MaxWidth: size, MaxHeight: size, FPS: liveFPS}, func(f media.Frame) error {
		evs, err := a.Frame(ctx, f.RGBA(), f.PTS)
		events = append(events, evs...)
		last = f.PTS
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("live: replay %s: %w", path, err)
	}
	return ds, append(events, a.Close(last)...), nil
}

// liveFPS is the frame rate a live stream is analysed at (media.LiveFrames'
// default).
const liveFPS = 2
