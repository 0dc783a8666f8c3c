package commerce

import (
	"context"
	"sync"
	"testing"
	"time"
)

func newTestCache(t *testing.T, src Source, cfg CacheConfig) (*Cache, *clock) {
	t.Helper()
	c := NewCache(src, cfg, nil)
	clk := newClock()
	c.now = clk.Now
	return c, clk
}

func TestCacheHitAndMiss(t *testing.T) {
	shop := startShop(t)
	c, clk := newTestCache(t, newUpstream(t, shop, true), CacheConfig{TTL: time.Minute, StaleWhileRevalidate: -1})
	ctx := context.Background()

	ps, err := c.Get(ctx, []string{"16647", "16820"})
	if err != nil || len(ps) != 2 {
		t.Fatalf("first Get: %v %v", ps, err)
	}
	if shop.Requests() != 1 {
		t.Fatalf("first Get made %d shop requests, want 1 batch", shop.Requests())
	}
	// Mixed: two cached ids and one new one cost a request for the new one only.
	ps, err = c.Get(ctx, []string{"16820", "16647", "16331"})
	if err != nil || len(ps) != 3 || ps[0].ID != "16820" || ps[2].ID != "16331" {
		t.Fatalf("second Get: %+v %v", ps, err)
	}
	if shop.Requests() != 2 {
		t.Fatalf("after second Get: %d shop requests, want 2", shop.Requests())
	}
	st := c.Stats()
	if st.Hits != 2 || st.Misses != 3 {
		t.Errorf("stats %+v, want 2 hits and 3 misses", st)
	}

	// Unknown ids are remembered for NegativeTTL.
	for range 3 {
		if ps, err := c.Get(ctx, []string{"nope"}); err != nil || len(ps) != 0 {
			t.Fatalf("unknown id: %v %v", ps, err)
		}
	}
	if shop.Requests() != 3 {
		t.Errorf("unknown id asked the shop %d times, want once", shop.Requests()-2)
	}

	// Past the TTL (no stale-while-revalidate) the shop is asked again and
	// its new price is served.
	shop.SetPrice("16647", 123.5)
	clk.Advance(61 * time.Second)
	ps, err = c.Get(ctx, []string{"16647"})
	if err != nil || len(ps) != 1 || *ps[0].Price != 123.5 || ps[0].Stale {
		t.Fatalf("after TTL: %+v %v", ps, err)
	}

	// Callers cannot modify cached data.
	ps[0].Images[0] = "mutated"
	*ps[0].Price = 1
	again, _ := c.Get(ctx, []string{"16647"})
	if again[0].Images[0] == "mutated" || *again[0].Price != 123.5 {
		t.Errorf("cached product was changed through a returned copy: %+v", again[0])
	}
}

func TestCacheStaleWhileRevalidate(t *testing.T) {
	shop := startShop(t)
	c, clk := newTestCache(t, newUpstream(t, shop, true), CacheConfig{TTL: time.Minute, StaleWhileRevalidate: 10 * time.Minute})
	ctx := context.Background()
	if _, err := c.Get(ctx, []string{"16647"}); err != nil {
		t.Fatal(err)
	}
	shop.SetPrice("16647", 999)
	shop.SetDelay(300 * time.Millisecond)
	clk.Advance(2 * time.Minute)

	// Inside the window the old details come back at once while one
	// background request refreshes them.
	start := time.Now()
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			ps, err := c.Get(ctx, []string{"16647"})
			if err != nil || len(ps) != 1 || *ps[0].Price == 999 || ps[0].Stale {
				t.Errorf("revalidating Get: %+v %v, want the old price, not stale", ps, err)
			}
		})
	}
	wg.Wait()
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("revalidating Gets took %v, want no wait for the slow shop", d)
	}
	waitFor(t, func() bool { ps, _ := c.Get(ctx, []string{"16647"}); return *ps[0].Price == 999 })
	if n := shop.Requests(); n != 2 {
		t.Errorf("%d shop requests, want 2 (initial + one background refresh)", n)
	}
}

func TestCacheStaleWhenShopIsDown(t *testing.T) {
	shop := startShop(t)
	c, clk := newTestCache(t, newUpstream(t, shop, true), CacheConfig{TTL: time.Minute, StaleWhileRevalidate: -1, MaxStale: time.Hour, RetryAfter: 30 * time.Second})
	ctx := context.Background()
	if _, err := c.Get(ctx, []string{"16647"}); err != nil {
		t.Fatal(err)
	}
	shop.SetDown(true)
	clk.Advance(5 * time.Minute)

	ps, err := c.Get(ctx, []string{"16647", "16820"})
	pe, partial := IsPartial(err)
	if !partial || len(pe.IDs) != 1 || pe.IDs[0] != "16820" {
		t.Fatalf("err = %v, want a partial error naming only the never-cached 16820", err)
	}
	if len(ps) != 1 || ps[0].ID != "16647" || !ps[0].Stale || ps[0].Title == "" {
		t.Fatalf("products %+v, want the cached 16647 marked stale", ps)
	}

	// Right after a failure the stale copy is served without asking the shop.
	before := shop.Requests()
	ps, err = c.Get(ctx, []string{"16647"})
	if err != nil || len(ps) != 1 || !ps[0].Stale {
		t.Fatalf("within RetryAfter: %+v %v", ps, err)
	}
	if shop.Requests() != before {
		t.Errorf("the failing shop was asked again within RetryAfter")
	}

	// Once the shop is back, details are fresh again.
	shop.SetDown(false)
	clk.Advance(31 * time.Second)
	ps, err = c.Get(ctx, []string{"16647"})
	if err != nil || len(ps) != 1 || ps[0].Stale {
		t.Fatalf("after recovery: %+v %v, want fresh", ps, err)
	}

	// Beyond MaxStale nothing is served: the data is too old to show.
	shop.SetDown(true)
	clk.Advance(2 * time.Hour)
	ps, err = c.Get(ctx, []string{"16647"})
	if _, partial := IsPartial(err); !partial || len(ps) != 0 {
		t.Fatalf("beyond MaxStale: %+v %v, want nothing and a partial error", ps, err)
	}
	if st := c.Stats(); st.Errors < 2 || st.Stale < 2 {
		t.Errorf("stats %+v, want errors and stale serves counted", st)
	}
}

func TestCacheCoalescesConcurrentMisses(t *testing.T) {
	shop := startShop(t)
	shop.SetDelay(200 * time.Millisecond)
	c, _ := newTestCache(t, newUpstream(t, shop, true), CacheConfig{})
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			ids := []string{"16647", "16820"}
			if i%2 == 1 {
				ids = []string{"16820", "16647"}
			}
			ps, err := c.Get(context.Background(), ids)
			if err != nil || len(ps) != 2 {
				t.Errorf("Get: %v %v", ps, err)
			}
		})
	}
	wg.Wait()
	if n := shop.Requests(); n != 1 {
		t.Errorf("40 concurrent viewers made %d shop requests, want 1", n)
	}
	if st := c.Stats(); st.Coalesced < 70 {
		t.Errorf("stats %+v, want nearly all 80 misses coalesced", st)
	}
}

func TestCacheViewerCancelDoesNotFailOthers(t *testing.T) {
	shop := startShop(t)
	shop.SetDelay(300 * time.Millisecond)
	c, _ := newTestCache(t, newUpstream(t, shop, true), CacheConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Get(ctx, []string{"16647"}); err == nil {
		t.Fatal("Get with an expired context succeeded")
	}
	ps, err := c.Get(context.Background(), []string{"16647"})
	if err != nil || len(ps) != 1 {
		t.Fatalf("second viewer: %v %v", ps, err)
	}
	if n := shop.Requests(); n != 1 {
		t.Errorf("%d shop requests, want the one the first viewer started", n)
	}
}

func TestCacheIsBounded(t *testing.T) {
	shop := startShop(t)
	c, _ := newTestCache(t, newUpstream(t, shop, true), CacheConfig{MaxEntries: 10})
	var ids []string
	for _, it := range shop.Items()[:30] {
		ids = append(ids, it.ID)
	}
	ctx := context.Background()
	for i := 0; i < len(ids); i += 5 {
		if _, err := c.Get(ctx, ids[i:i+5]); err != nil {
			t.Fatal(err)
		}
		c.Get(ctx, ids[:1]) // keep the first id recently used
	}
	st := c.Stats()
	if st.Entries != 10 || st.Evictions != 20 {
		t.Fatalf("stats %+v, want 10 entries after 20 evictions", st)
	}
	before := shop.Requests()
	c.Get(ctx, ids[:1])
	if shop.Requests() != before {
		t.Errorf("the most recently used id was evicted")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
