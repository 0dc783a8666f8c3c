package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vitrine-dev/vitrine/eval/gen"
	"github.com/vitrine-dev/vitrine/eval/groundtruth"
)

// LiveStreamer runs vitrine's live analysis for the live suite.
type LiveStreamer interface {
	// Live starts a live stream of the HLS playlist at playlistURL, follows
	// its events as a viewer does until the stream ends, and calls announce
	// with each item.start's product and stream time as the viewer
	// receives it.
	Live(ctx context.Context, playlistURL string, announce func(productID string, streamT float64)) (LiveStats, error)
}

// LiveStats are a finished live stream's counters.
type LiveStats struct {
	Frames, Dropped, Reconnects int64
	LagS                        float64
}

// defaultLiveVideos is how many generated packshot videos the live suite
// streams (in real time: each costs its duration); the lookbook set's
// videos (three by default) follow them.
const defaultLiveVideos = 5

// onScreenSlack is how far, in seconds, an announcing frame may lie
// outside its product's appearance for the announcement to count as
// right: one analysed frame at 2 a second, for transitions and the
// tracker's last box.
const onScreenSlack = 0.5

// runLive streams generated labelled videos over loopback HLS (ffmpeg -re
// writing 1 s segments that an HTTP server serves) and measures, per
// announced product, the time from its first broadcast frame to the
// viewer receiving its item.start, and whether it is on screen.
func runLive(ctx context.Context, env *Env, s *Section) error {
	if env.Live == nil {
		return skipf("no live streamer wired in")
	}
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		return skipf("ffmpeg not found")
	}
	if _, err := env.ingestAll(ctx); err != nil {
		return fmt.Errorf("ingest catalogs: %w", err)
	}
	packshots, err := env.generated(ctx)
	if err != nil {
		return fmt.Errorf("generate evaluation set: %w", err)
	}
	lookbooks, err := env.lookbooks(ctx)
	if err != nil {
		return fmt.Errorf("generate lookbook set: %w", err)
	}
	sets := []struct {
		name   string
		videos []*gen.Result
	}{{"packshot", packshots[:min(len(packshots), defaultLiveVideos)]}, {"lookbook", lookbooks}}
	s.Method = fmt.Sprintf("The first %d generated packshot videos and the %d on-model lookbook reels of the e2e suite are broadcast in real time over loopback HLS "+
		"(ffmpeg -re encoding with x264 at its veryfast preset, 1 s segments, an HTTP server); "+
		"vitrine joins each stream once its first segment is out and a viewer follows the stream's Server-Sent Events. "+
		"An announcement is right when its product is on screen at the announcing frame (within %.1f s, one analysed frame); "+
		"its latency is from the product's first broadcast frame (of the appearance under way) to the viewer receiving its item.start, "+
		"split into recognition (from that frame to the frame whose analysis announced the product, in stream time: what the models needed to see) "+
		"and delivery (from the broadcast of the announcing frame to the viewer), and delivery again into segmenting "+
		"(from the frame's broadcast to its segment being listed in the playlist: the broadcaster's encoder and segmenter, outside vitrine) "+
		"and vitrine's own part (polling the playlist, fetching, decoding, analysis, events). "+
		"Found counts the products of a video announced at least once while on screen.",
		len(sets[0].videos), len(sets[1].videos), onScreenSlack)
	peakReset := resetPeakRSS()
	var all liveResult
	per := Table{Title: "Per stream", Columns: []string{"set", "video", "duration s", "products", "announced", "right", "latency s (median)", "frames", "dropped", "lag s"}}
	bySet := Table{Title: "Per set", Columns: []string{"set", "announced", "right", "precision", "products found", "latency p50 s", "latency p95 s", "recognition p95 s", "delivery p95 s"}}
	for _, set := range sets {
		var sr liveResult
		for _, v := range set.videos {
			r, err := streamOne(ctx, env, v.VideoPath, v.Truth)
			if err != nil {
				return fmt.Errorf("%s: %w", filepath.Base(v.VideoPath), err)
			}
			sr.add(r)
			med := "–"
			if len(r.latencies) > 0 {
				med = f1(quantile(r.latencies, 0.5))
			}
			per.Rows = append(per.Rows, []string{set.name, filepath.Base(v.VideoPath), f1(float64(v.Truth.Frames) / v.Truth.FPS), strconv.Itoa(r.products),
				strconv.Itoa(r.right + r.wrong), strconv.Itoa(r.right), med, strconv.FormatInt(r.stats.Frames, 10), strconv.FormatInt(r.stats.Dropped, 10), f1(r.stats.LagS)})
		}
		if len(set.videos) == 0 {
			continue
		}
		row := []string{set.name, strconv.Itoa(sr.right + sr.wrong), strconv.Itoa(sr.right), "–", "–", "–", "–", "–", "–"}
		if sr.right+sr.wrong > 0 {
			row[3] = f3(float64(sr.right) / float64(sr.right+sr.wrong))
			s.Add(set.name+": announced precision", float64(sr.right)/float64(sr.right+sr.wrong), "")
		}
		if sr.products > 0 {
			row[4] = f3(float64(sr.found) / float64(sr.products))
			s.Add(set.name+": products found", float64(sr.found)/float64(sr.products), "")
		}
		if len(sr.latencies) > 0 {
			row[5], row[6] = f1(quantile(sr.latencies, 0.5)), f1(quantile(sr.latencies, 0.95))
			row[7], row[8] = f1(quantile(sr.recognition, 0.95)), f1(quantile(sr.delivery, 0.95))
			s.Add(set.name+": latency p95", quantile(sr.latencies, 0.95), "s")
		}
		bySet.Rows = append(bySet.Rows, row)
		all.add(sr)
	}
	if len(all.latencies) > 0 {
		s.Headline("latency p95 (first frame to item.start)", quantile(all.latencies, 0.95), "s")
		s.Add("latency p50", quantile(all.latencies, 0.5), "s")
		s.Add("announcements timed", float64(len(all.latencies)), "")
		s.Add("recognition p50 (first frame to the announcing frame)", quantile(all.recognition, 0.5), "s")
		s.Add("recognition p95", quantile(all.recognition, 0.95), "s")
		s.Add("delivery p50 (announcing frame's broadcast to item.start)", quantile(all.delivery, 0.5), "s")
		s.Add("delivery p95", quantile(all.delivery, 0.95), "s")
	}
	if len(all.segmenting) > 0 {
		s.Add("delivery: segmenting p50 (frame's broadcast to its segment listed)", quantile(all.segmenting, 0.5), "s")
		s.Add("delivery: vitrine p50 (segment listed to item.start)", quantile(all.vitrine, 0.5), "s")
		s.Add("delivery: vitrine p95", quantile(all.vitrine, 0.95), "s")
	}
	if all.right+all.wrong > 0 {
		s.Headline("announced precision", float64(all.right)/float64(all.right+all.wrong), "")
	}
	if all.products > 0 {
		s.Add("products found", float64(all.found)/float64(all.products), "")
	}
	if all.stats.Frames+all.stats.Dropped > 0 {
		s.Add("frames dropped", float64(all.stats.Dropped)/float64(all.stats.Frames+all.stats.Dropped), "share")
	}
	s.Add("max lag", all.stats.LagS, "s")
	if peakReset {
		s.Add("peak RSS", float64(PeakRSS())/(1<<20), "MiB")
	}
	s.Tables = append(s.Tables, bySet, per)
	return nil
}

func quantile(v []float64, q float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[max(0, int(math.Ceil(q*float64(len(s))))-1)]
}

type liveResult struct {
	// latencies are recognition plus delivery, per announced product;
	// segmenting plus vitrine is delivery, when the segment was seen.
	latencies, recognition, delivery []float64
	segmenting, vitrine              []float64
	right, wrong, found, products    int
	stats                            LiveStats
}

// add sums o into r (the lag is the largest).
func (r *liveResult) add(o liveResult) {
	r.latencies = append(r.latencies, o.latencies...)
	r.recognition = append(r.recognition, o.recognition...)
	r.delivery = append(r.delivery, o.delivery...)
	r.segmenting = append(r.segmenting, o.segmenting...)
	r.vitrine = append(r.vitrine, o.vitrine...)
	r.right += o.right
	r.wrong += o.wrong
	r.found += o.found
	r.products += o.products
	r.stats.Frames += o.stats.Frames
	r.stats.Dropped += o.stats.Dropped
	r.stats.Reconnects += o.stats.Reconnects
	r.stats.LagS = max(r.stats.LagS, o.stats.LagS)
}

// onScreenStart returns the start of the appearance of product pid under
// way at stream time t (within onScreenSlack), or false when it is not on
// screen then.
func onScreenStart(truth *groundtruth.Video, pid string, t float64) (float64, bool) {
	best, ok := 0.0, false
	for _, it := range truth.Items {
		if it.ProductID == pid && it.StartS-onScreenSlack <= t && t <= it.EndS+onScreenSlack && (!ok || it.StartS > best) {
			best, ok = it.StartS, true
		}
	}
	return best, ok
}

// streamOne broadcasts one video over loopback HLS and follows it.
func streamOne(ctx context.Context, env *Env, path string, truth *groundtruth.Video) (liveResult, error) {
	var res liveResult
	dir, err := os.MkdirTemp(env.WorkDir, "hls-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	// Bounded by the video's length plus a margin.
	dur := time.Duration(float64(truth.Frames)/truth.FPS*float64(time.Second)) + 2*time.Minute
	ctx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	playlist := filepath.Join(dir, "index.m3u8")
	enc := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", path,
		"-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0", "-an",
		"-f", "hls", "-hls_time", "1", "-hls_list_size", "6", "-hls_flags", "delete_segments", playlist)
	if err := enc.Start(); err != nil {
		return res, fmt.Errorf("start broadcaster: %w", err)
	}
	broadcast := time.Now()
	encDone := make(chan error, 1)
	go func() { encDone <- enc.Wait() }()
	segs := watchSegments(ctx, playlist)
	defer func() { cancel(); <-encDone; <-segs.done }()
	for i := 0; ; i++ {
		if _, err := os.Stat(playlist); err == nil {
			break
		}
		if i == 200 {
			return res, errors.New("broadcaster wrote no playlist in 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	products := map[string]bool{}
	for _, it := range truth.Items {
		products[it.ProductID] = true
	}
	res.products = len(products)
	var mu sync.Mutex
	announced := map[string]bool{}
	stats, err := env.Live.Live(ctx, srv.URL+"/index.m3u8", func(pid string, streamT float64) {
		now := time.Now()
		at := now.Sub(broadcast).Seconds()
		mu.Lock()
		defer mu.Unlock()
		start, ok := onScreenStart(truth, pid, streamT)
		if !ok {
			res.wrong++
			return
		}
		res.right++
		if announced[pid] {
			return
		}
		announced[pid] = true
		res.found++
		res.latencies = append(res.latencies, at-start)
		res.recognition = append(res.recognition, streamT-start)
		res.delivery = append(res.delivery, at-streamT)
		if listed, ok := segs.listedAt(streamT); ok {
			res.segmenting = append(res.segmenting, listed.Sub(broadcast).Seconds()-streamT)
			res.vitrine = append(res.vitrine, now.Sub(listed).Seconds())
		}
	})
	res.stats = stats
	return res, err
}

// segmentWatch records when each segment of a playlist the bench's own
// broadcaster writes is first listed, and the stream time it starts at.
type segmentWatch struct {
	mu     sync.Mutex
	starts []float64   // stream time each segment starts at, by sequence
	listed []time.Time // when it was first listed
	// lastDur is the duration of the newest segment.
	lastDur float64
	done    chan struct{}
}

// watchSegments reads the playlist every 10 ms until ctx ends.
func watchSegments(ctx context.Context, playlist string) *segmentWatch {
	w := &segmentWatch{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			b, err := os.ReadFile(playlist)
			if err != nil {
				continue
			}
			w.update(b, time.Now())
		}
	}()
	return w
}

// update notes the segments of playlist text b that are new at now.
func (w *segmentWatch) update(b []byte, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	seq, dur := -1, 0.0
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"):
			seq, _ = strconv.Atoi(strings.TrimPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"))
		case strings.HasPrefix(line, "#EXTINF:"):
			dur, _ = strconv.ParseFloat(strings.TrimSuffix(strings.TrimPrefix(line, "#EXTINF:"), ","), 64)
		case line != "" && !strings.HasPrefix(line, "#") && seq >= 0:
			// Segments are listed in order and stay listed for several
			// updates, so each one's start follows from the one before.
			if seq == len(w.listed) {
				start := 0.0
				if seq > 0 {
					start = w.starts[seq-1] + w.lastDur
				}
				w.starts = append(w.starts, start)
				w.listed = append(w.listed, now)
				w.lastDur = dur
			}
			seq++
		}
	}
}

// listedAt returns when the segment holding stream time t was listed.
func (w *segmentWatch) listedAt(t float64) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := len(w.starts) - 1; i >= 0; i-- {
		if w.starts[i] <= t+1e-6 {
			return w.listed[i], true
		}
	}
	return time.Time{}, false
}
