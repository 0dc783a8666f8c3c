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
	"sync"
	"time"

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

// defaultLiveVideos is how many generated videos the live suite streams
// (in real time: each costs its duration).
const defaultLiveVideos = 5

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
	if _, err := env.ingest(ctx); err != nil {
		return fmt.Errorf("ingest catalog: %w", err)
	}
	videos, err := env.generated(ctx)
	if err != nil {
		return fmt.Errorf("generate evaluation set: %w", err)
	}
	videos = videos[:min(len(videos), defaultLiveVideos)]
	s.Method = fmt.Sprintf("The first %d generated packshot videos are broadcast in real time over loopback HLS (ffmpeg -re, 1 s segments, an HTTP server); "+
		"vitrine joins each stream once its first segment is out and a viewer follows the stream's Server-Sent Events. "+
		"Latency is from a product's first broadcast frame (of the appearance under way) to the viewer receiving its item.start, "+
		"split into recognition (from that frame to the frame whose analysis announced the product, in stream time: what the models needed to see) "+
		"and delivery (from the broadcast of the announcing frame to the viewer: segmenting, fetching, decoding, analysis, events); "+
		"an announcement is right when its product is in the video, and found counts the video's products announced at least once.", len(videos))
	peakReset := resetPeakRSS()
	var lat, recog, deliv []float64
	var right, wrong, found, truthProducts int
	var frames, dropped int64
	var maxLag float64
	per := Table{Title: "Per stream", Columns: []string{"video", "duration s", "products", "announced", "right", "latency s (median)", "frames", "dropped", "lag s"}}
	for _, v := range videos {
		r, err := streamOne(ctx, env, v.VideoPath, v.Truth)
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(v.VideoPath), err)
		}
		lat = append(lat, r.latencies...)
		recog = append(recog, r.recognition...)
		deliv = append(deliv, r.delivery...)
		right += r.right
		wrong += r.wrong
		found += r.found
		truthProducts += r.products
		frames += r.stats.Frames
		dropped += r.stats.Dropped
		maxLag = max(maxLag, r.stats.LagS)
		med := "–"
		if len(r.latencies) > 0 {
			med = f1(quantile(r.latencies, 0.5))
		}
		per.Rows = append(per.Rows, []string{filepath.Base(v.VideoPath), f1(float64(v.Truth.Frames) / v.Truth.FPS), strconv.Itoa(r.products),
			strconv.Itoa(r.right + r.wrong), strconv.Itoa(r.right), med, strconv.FormatInt(r.stats.Frames, 10), strconv.FormatInt(r.stats.Dropped, 10), f1(r.stats.LagS)})
	}
	if len(lat) > 0 {
		s.Headline("latency p95 (first frame to item.start)", quantile(lat, 0.95), "s")
		s.Add("latency p50", quantile(lat, 0.5), "s")
		s.Add("announcements timed", float64(len(lat)), "")
		s.Add("recognition p50 (first frame to the announcing frame)", quantile(recog, 0.5), "s")
		s.Add("recognition p95", quantile(recog, 0.95), "s")
		s.Add("delivery p50 (announcing frame's broadcast to item.start)", quantile(deliv, 0.5), "s")
		s.Add("delivery p95", quantile(deliv, 0.95), "s")
	}
	if right+wrong > 0 {
		s.Headline("announced precision", float64(right)/float64(right+wrong), "")
	}
	if truthProducts > 0 {
		s.Add("products found", float64(found)/float64(truthProducts), "")
	}
	if frames+dropped > 0 {
		s.Add("frames dropped", float64(dropped)/float64(frames+dropped), "share")
	}
	s.Add("max lag", maxLag, "s")
	if peakReset {
		s.Add("peak RSS", float64(PeakRSS())/(1<<20), "MiB")
	}
	s.Tables = append(s.Tables, per)
	return nil
}

func quantile(v []float64, q float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[max(0, int(math.Ceil(q*float64(len(s))))-1)]
}

type liveResult struct {
	// latencies are recognition plus delivery, per announced product.
	latencies, recognition, delivery []float64
	right, wrong, found, products    int
	stats                            LiveStats
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
	enc := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", path,
		"-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0", "-an",
		"-f", "hls", "-hls_time", "1", "-hls_list_size", "6", "-hls_flags", "delete_segments", filepath.Join(dir, "index.m3u8"))
	if err := enc.Start(); err != nil {
		return res, fmt.Errorf("start broadcaster: %w", err)
	}
	broadcast := time.Now()
	encDone := make(chan error, 1)
	go func() { encDone <- enc.Wait() }()
	defer func() { cancel(); <-encDone }()
	for i := 0; ; i++ {
		if _, err := os.Stat(filepath.Join(dir, "index.m3u8")); err == nil {
			break
		}
		if i == 200 {
			return res, errors.New("broadcaster wrote no playlist in 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	starts := map[string][]float64{}
	for _, it := range truth.Items {
		starts[it.ProductID] = append(starts[it.ProductID], it.StartS)
	}
	res.products = len(starts)
	var mu sync.Mutex
	announced := map[string]bool{}
	stats, err := env.Live.Live(ctx, srv.URL+"/index.m3u8", func(pid string, streamT float64) {
		at := time.Since(broadcast).Seconds()
		mu.Lock()
		defer mu.Unlock()
		ss, ok := starts[pid]
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
		// The appearance under way: the latest start before the event.
		best := math.Inf(-1)
		for _, st := range ss {
			if st <= streamT+1 {
				best = max(best, st)
			}
		}
		if !math.IsInf(best, -1) {
			res.latencies = append(res.latencies, at-best)
			res.recognition = append(res.recognition, streamT-best)
			res.delivery = append(res.delivery, at-streamT)
		}
	})
	res.stats = stats
	return res, err
}
