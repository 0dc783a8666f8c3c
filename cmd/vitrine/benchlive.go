package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/bench"
	"github.com/vitrine-dev/vitrine/internal/live"
	"github.com/vitrine-dev/vitrine/internal/video"
)

// Live runs a live stream in the bench's installation, as a server does,
// and follows its Server-Sent Events over loopback HTTP as a viewer does.
func (b *benchApp) Live(ctx context.Context, playlistURL string, announce func(productID string, streamT float64)) (bench.LiveStats, error) {
	a, err := b.open(ctx)
	if err != nil {
		return bench.LiveStats{}, err
	}
	lm, err := a.NewLive()
	if err != nil {
		return bench.LiveStats{}, err
	}
	s, err := lm.Start(ctx, playlistURL, "bench")
	if err != nil {
		return bench.LiveStats{}, err
	}
	defer lm.Wait()
	defer func() { _, _ = lm.Stop(context.WithoutCancel(ctx), s.ID) }()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := lm.ServeEvents(w, r, s.ID, nil, 0); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
		}
	}))
	defer srv.Close()
	req, err := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	if err != nil {
		return bench.LiveStats{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return bench.LiveStats{}, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	typ := ""
	for sc.Scan() {
		line := sc.Text()
		if t, ok := strings.CutPrefix(line, "event: "); ok {
			typ = t
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		if typ == live.StreamEnd {
			break
		}
		if typ == "item.start" {
			var ev struct {
				Item struct {
					ProductID string  `json:"product_id"`
					T         float64 `json:"t"`
				} `json:"item"`
			}
			if err := json.Unmarshal([]byte(data), &ev); err == nil {
				announce(ev.Item.ProductID, ev.Item.T)
			}
		}
	}
	lm.Wait()
	st, err := live.Get(context.WithoutCancel(ctx), a.DB, s.ID)
	if err != nil {
		return bench.LiveStats{}, err
	}
	stats := bench.LiveStats{Frames: st.Frames, Dropped: st.Dropped, Reconnects: st.Reconnects, LagS: st.LagS}
	if st.State == live.StateFailed {
		return stats, fmt.Errorf("live stream failed: %s", st.Error)
	}
	return stats, ctx.Err()
}

var _ bench.LiveStreamer = (*benchApp)(nil)

// ReplayLive replays a video file through the live analyser with no frame
// dropped (bench.LiveReplayer, for bench calibrate --live).
func (b *benchApp) ReplayLive(ctx context.Context, path string) ([]bench.LiveDecision, error) {
	a, err := b.open(ctx)
	if err != nil {
		return nil, err
	}
	ds, _, err := a.Video.ReplayLive(ctx, path, video.LiveConfig{})
	if err != nil {
		return nil, err
	}
	out := make([]bench.LiveDecision, len(ds))
	for i, d := range ds {
		out[i] = bench.LiveDecision{T: d.T, ProductID: d.Item.Product(), StartS: d.Item.StartS, EndS: d.Item.EndS, Features: d.Features}
	}
	return out, nil
}
