package commerce

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// CacheConfig tunes a Cache. Zero fields take the defaults in brackets.
type CacheConfig struct {
	// TTL is how long details are served without asking the source [1m].
	TTL time.Duration `toml:"ttl"`
	// StaleWhileRevalidate is how long after TTL details are still served
	// as they are while one background request refreshes them [10m];
	// negative turns it off.
	StaleWhileRevalidate time.Duration `toml:"stale_while_revalidate"`
	// MaxStale is how long after TTL the last known details are served,
	// marked stale, when the source fails [24h].
	MaxStale time.Duration `toml:"max_stale"`
	// NegativeTTL is how long an unknown id is remembered as unknown [30s].
	NegativeTTL time.Duration `toml:"negative_ttl"`
	// MaxEntries bounds the cache; least recently used ids go first [10000].
	MaxEntries int `toml:"max_entries"`
	// RetryAfter is how long after a failed request the last known details
	// are served stale at once, without asking the failing source again [10s].
	RetryAfter time.Duration `toml:"retry_after"`
	// FetchTimeout bounds one source request made by the cache [10s]. It is
	// independent of the viewer's request so that one impatient viewer does
	// not fail the request every other waiter shares.
	FetchTimeout time.Duration `toml:"fetch_timeout"`
}

func (c *CacheConfig) defaults() {
	if c.TTL <= 0 {
		c.TTL = time.Minute
	}
	if c.StaleWhileRevalidate < 0 {
		c.StaleWhileRevalidate = 0
	} else if c.StaleWhileRevalidate == 0 {
		c.StaleWhileRevalidate = 10 * time.Minute
	}
	if c.MaxStale <= 0 {
		c.MaxStale = 24 * time.Hour
	}
	if c.NegativeTTL <= 0 {
		c.NegativeTTL = 30 * time.Second
	}
	if c.MaxEntries <= 0 {
		c.MaxEntries = 10000
	}
	if c.RetryAfter <= 0 {
		c.RetryAfter = 10 * time.Second
	}
	if c.FetchTimeout <= 0 {
		c.FetchTimeout = 10 * time.Second
	}
}

// CacheStats counts what a Cache did since it was created.
type CacheStats struct {
	Hits      int64 `json:"hits"`      // served from cache, fresh or revalidating
	Misses    int64 `json:"misses"`    // had to wait for the source
	Coalesced int64 `json:"coalesced"` // misses that joined another caller's request
	Stale     int64 `json:"stale"`     // served marked stale after a source failure
	Fetches   int64 `json:"fetches"`   // source requests, foreground and background
	Errors    int64 `json:"errors"`    // failed source requests
	Evictions int64 `json:"evictions"`
	Entries   int   `json:"entries"`
}

// PartialError reports ids that could not be resolved because the source
// failed and nothing was cached for them. Products for the other ids are
// still returned.
type PartialError struct {
	IDs []string
	Err error
}

func (e *PartialError) Error() string {
	return fmt.Sprintf("commerce: %d product(s) unavailable (%s): %v", len(e.IDs), strings.Join(e.IDs, ","), e.Err)
}

func (e *PartialError) Unwrap() error { return e.Err }

// Cache is a Source in front of another Source: bounded (LRU), with TTL,
// stale-while-revalidate, per-id request coalescing and stale fallback when
// the source fails.
type Cache struct {
	src Source
	cfg CacheConfig
	log *slog.Logger
	now func() time.Time

	mu       sync.Mutex
	entries  map[string]*list.Element // of *entry
	lru      *list.List               // front = most recently used
	inflight map[string]*call

	hits, misses, coalesced, stale, fetches, errs, evictions atomic.Int64
}

type entry struct {
	id         string
	p          Product
	found      bool
	fetched    time.Time
	failing    bool // the last request for it failed
	failedAt   time.Time
	refreshing bool
}

// call is one source request shared by every caller waiting for its ids.
type call struct {
	done chan struct{}
	res  map[string]Product
	err  error
}

// NewCache wraps src. log may be nil.
func NewCache(src Source, cfg CacheConfig, log *slog.Logger) *Cache {
	cfg.defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Cache{
		src: src, cfg: cfg, log: log, now: time.Now,
		entries:  map[string]*list.Element{},
		lru:      list.New(),
		inflight: map[string]*call{},
	}
}

// Stats returns the counters.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	n := c.lru.Len()
	c.mu.Unlock()
	return CacheStats{
		Hits: c.hits.Load(), Misses: c.misses.Load(), Coalesced: c.coalesced.Load(),
		Stale: c.stale.Load(), Fetches: c.fetches.Load(), Errors: c.errs.Load(),
		Evictions: c.evictions.Load(), Entries: n,
	}
}

// Get returns the known products among ids, in request order without
// duplicates. When the source fails, cached details are returned marked
// Stale; ids with nothing cached are reported in a *PartialError alongside
// the products that could be served.
func (c *Cache) Get(ctx context.Context, ids []string) ([]Product, error) {
	ids = dedupe(ids)
	now := c.now()
	out := make(map[string]Product, len(ids))
	waits := map[*call][]string{}
	var fetch, refresh []string

	c.mu.Lock()
	for _, id := range ids {
		var e *entry
		if el, ok := c.entries[id]; ok {
			e = el.Value.(*entry)
			c.lru.MoveToFront(el)
			age := now.Sub(e.fetched)
			ttl := c.cfg.TTL
			if !e.found {
				ttl = c.cfg.NegativeTTL
			}
			if age < ttl+c.cfg.StaleWhileRevalidate {
				c.hits.Add(1)
				if e.found {
					p := e.p.clone()
					if e.failing {
						p.Stale = true
						c.stale.Add(1)
					}
					out[id] = p
				}
				if age >= ttl && !e.refreshing && c.inflight[id] == nil {
					e.refreshing = true
					refresh = append(refresh, id)
				}
				continue
			}
			if e.found && e.failing && now.Sub(e.failedAt) < c.cfg.RetryAfter && age < ttl+c.cfg.MaxStale {
				// The source just failed for this id: answer from the cache
				// now rather than make every viewer wait for it again.
				p := e.p.clone()
				p.Stale = true
				c.stale.Add(1)
				out[id] = p
				continue
			}
		}
		c.misses.Add(1)
		if cl := c.inflight[id]; cl != nil {
			c.coalesced.Add(1)
			waits[cl] = append(waits[cl], id)
			continue
		}
		fetch = append(fetch, id)
	}
	if len(fetch) > 0 {
		cl := c.startLocked(fetch)
		waits[cl] = append(waits[cl], fetch...)
	}
	if len(refresh) > 0 {
		c.startLocked(refresh)
	}
	c.mu.Unlock()

	var unavailable []string
	var lastErr error
	for cl, wanted := range waits {
		select {
		case <-cl.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("commerce: wait for products: %w", ctx.Err())
		}
		if cl.err == nil {
			for _, id := range wanted {
				if p, ok := cl.res[id]; ok {
					out[id] = p.clone()
				}
			}
			continue
		}
		// The source failed: fall back to whatever we have, however old.
		lastErr = cl.err
		c.mu.Lock()
		for _, id := range wanted {
			if el, ok := c.entries[id]; ok {
				e := el.Value.(*entry)
				if !e.found {
					continue // known not to exist
				}
				if now.Sub(e.fetched) < c.cfg.TTL+c.cfg.MaxStale {
					p := e.p.clone()
					p.Stale = true
					c.stale.Add(1)
					out[id] = p
					continue
				}
			}
			unavailable = append(unavailable, id)
		}
		c.mu.Unlock()
	}

	res := make([]Product, 0, len(out))
	for _, id := range ids {
		if p, ok := out[id]; ok {
			res = append(res, p)
		}
	}
	if len(unavailable) > 0 {
		return res, &PartialError{IDs: unavailable, Err: lastErr}
	}
	return res, nil
}

// startLocked registers a call for ids and runs it in the background with its
// own deadline. c.mu must be held.
func (c *Cache) startLocked(ids []string) *call {
	cl := &call{done: make(chan struct{})}
	for _, id := range ids {
		c.inflight[id] = cl
	}
	go c.run(cl, ids)
	return cl
}

func (c *Cache) run(cl *call, ids []string) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.FetchTimeout)
	defer cancel()
	c.fetches.Add(1)
	ps, err := c.src.Get(ctx, ids)
	now := c.now()

	c.mu.Lock()
	defer c.mu.Unlock()
	defer close(cl.done)
	for _, id := range ids {
		delete(c.inflight, id)
	}
	if err != nil {
		c.errs.Add(1)
		c.log.Warn("commerce: product source failed", "ids", len(ids), "err", err)
		cl.err = err
		for _, id := range ids {
			if el, ok := c.entries[id]; ok {
				e := el.Value.(*entry)
				e.failing, e.refreshing, e.failedAt = true, false, now
			}
		}
		return
	}
	cl.res = make(map[string]Product, len(ps))
	for _, p := range ps {
		cl.res[p.ID] = p.clone()
	}
	for _, id := range ids {
		p, found := cl.res[id]
		e := &entry{id: id, p: p, found: found, fetched: now}
		if el, ok := c.entries[id]; ok {
			el.Value = e
			c.lru.MoveToFront(el)
		} else {
			c.entries[id] = c.lru.PushFront(e)
		}
	}
	for c.lru.Len() > c.cfg.MaxEntries {
		el := c.lru.Back()
		delete(c.entries, el.Value.(*entry).id)
		c.lru.Remove(el)
		c.evictions.Add(1)
	}
}

// IsPartial reports whether err is a *PartialError and returns it.
func IsPartial(err error) (*PartialError, bool) {
	var pe *PartialError
	ok := errors.As(err, &pe)
	return pe, ok
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
