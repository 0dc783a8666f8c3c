package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/catalog"
)

// TestReadAPILoad sends a fixed number of requests over loopback to the
// read API and the public read path of a real server (SQLite, catalog,
// published document) from concurrent keep-alive clients. Every answer
// must be a 200, the run must end within its time bound, and the heap
// after the run must be about what it was after the warm-up (no growth
// per request). Throughput is measured by BenchmarkPublicEndpoints, not here.
func TestReadAPILoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	const (
		requests = 12000
		clients  = 16
		bound    = 2 * time.Minute
	)
	e := newShopEnvWith(t, map[string]string{"VITRINE_RATE_PUBLIC_IP": "0", "VITRINE_RATE_PUBLIC_KEY": "0", "VITRINE_RATE_API_KEY": "0"})
	ctx := context.Background()
	var ids []string
	for i := range 100 {
		price := float64(10 + i)
		p := catalog.Product{ID: fmt.Sprintf("p%03d", i), Title: fmt.Sprintf("Product %d", i), Category: "Tshirts", Price: &price, Currency: "EUR"}
		if _, err := e.cat.Upsert(ctx, p); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "web", "player", "testdata", "turntable.shoppable.json"))
	if err != nil {
		t.Fatalf("fixture document: %v", err)
	}
	now := time.Now().UTC()
	if _, err := e.db.Write.ExecContext(ctx, `INSERT INTO videos (id, blob_key, state, created_at, updated_at) VALUES ('v_turntable', 'videos/v_turntable/source', 'ready', ?, ?)`, now, now); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Write.ExecContext(ctx, `INSERT INTO shoppable_docs (video_id, version, doc, vtt, created_at, published_at) VALUES ('v_turntable', 1, ?, 'WEBVTT', ?, ?)`, string(doc), now, now); err != nil {
		t.Fatal(err)
	}
	const site = "https://blog.example"
	st, _, raw := e.req(t, "POST", "/v1/publishable-keys", e.admin, "", `{"name":"load","origins":["`+site+`"]}`)
	if st != 201 {
		t.Fatalf("publishable key: %d %s", st, raw)
	}
	var created struct{ Key string }
	if err := json.Unmarshal(raw, &created); err != nil || created.Key == "" {
		t.Fatalf("publishable key: %s", raw)
	}
	pk := created.Key

	type target struct{ path, key string }
	targets := []func(i int) target{
		func(i int) target { return target{"/v1/videos", e.read} },
		func(i int) target { return target{"/v1/videos/v_turntable/shoppable", e.read} },
		func(i int) target { return target{"/v1/catalog/products/" + ids[i%len(ids)], e.read} },
		func(i int) target { return target{"/v1/workflows?limit=20", e.read} },
		func(i int) target {
			return target{fmt.Sprintf("/v1/commerce/products?ids=%s,%s,%s", ids[i%100], ids[(i+1)%100], ids[(i+2)%100]), e.read}
		},
		func(i int) target { return target{"/public/v1/videos/v_turntable/shoppable?key=" + pk, ""} },
		func(i int) target { return target{"/public/v1/products/" + ids[i%len(ids)] + "?key=" + pk, ""} },
	}
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	run := func(n int) (failed int64, first string) {
		var next, bad atomic.Int64
		var once sync.Once
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= n {
						return
					}
					tg := targets[i%len(targets)](i)
					req, _ := http.NewRequest("GET", e.srv.URL+tg.path, nil)
					if tg.key != "" {
						req.Header.Set("Authorization", "Bearer "+tg.key)
					} else {
						req.Header.Set("Origin", site)
					}
					resp, err := client.Do(req)
					if err != nil {
						bad.Add(1)
						once.Do(func() { first = tg.path + ": " + err.Error() })
						continue
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						bad.Add(1)
						once.Do(func() { first = fmt.Sprintf("%s: %d %.200s", tg.path, resp.StatusCode, b) })
					}
				}
			})
		}
		wg.Wait()
		return bad.Load(), first
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	start := time.Now()
	if bad, first := run(requests / 10); bad > 0 {
		t.Fatalf("warm-up: %d failed requests, first: %s", bad, first)
	}
	warm, goroutines := heap(), runtime.NumGoroutine()
	bad, first := run(requests)
	elapsed := time.Since(start)
	end := heap()
	t.Logf("%d requests from %d clients in %s (%.0f req/s); heap %.1f MiB after warm-up, %.1f MiB at the end; %d goroutines",
		requests+requests/10, clients, elapsed.Round(time.Millisecond), float64(requests+requests/10)/elapsed.Seconds(),
		float64(warm)/(1<<20), float64(end)/(1<<20), runtime.NumGoroutine())
	if bad > 0 {
		t.Errorf("%d of %d requests failed, first: %s", bad, requests, first)
	}
	if elapsed > bound {
		t.Errorf("the run took %s, over its bound of %s", elapsed, bound)
	}
	if end > warm+warm/2+8<<20 {
		t.Errorf("heap grew from %d to %d bytes over %d requests", warm, end, requests)
	}
	if g := runtime.NumGoroutine(); g > goroutines+clients+8 {
		t.Errorf("goroutines grew from %d to %d", goroutines, g)
	}
}
