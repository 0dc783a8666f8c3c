package analytics

import (
	"sort"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is a set of token buckets by key (a client IP, a publishable key),
// bounded in size: idle buckets are dropped, and when too many clients are
// active at once the oldest half is forgotten.
type Limiter struct {
	rate  rate.Limit
	burst int
	max   int
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	sweep   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// NewLimiter allows perSecond events per key with bursts of burst.
func NewLimiter(perSecond float64, burst int) *Limiter {
	return &Limiter{rate: rate.Limit(perSecond), burst: burst, max: 100000, now: time.Now, buckets: map[string]*bucket{}}
}

// Allow takes n tokens from key's bucket, reporting whether there were enough.
func (l *Limiter) Allow(key string, n int) bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.sweep) > time.Minute || len(l.buckets) >= l.max {
		l.evict(now)
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(l.rate, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	return b.lim.AllowN(now, n)
}

// evict drops buckets idle long enough to have refilled (they behave like
// new ones), and the least recently seen half if that is not enough.
func (l *Limiter) evict(now time.Time) {
	l.sweep = now
	full := time.Duration(float64(l.burst)/float64(l.rate)*float64(time.Second)) + time.Second
	for k, b := range l.buckets {
		if now.Sub(b.seen) > full {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) < l.max {
		return
	}
	// Oldest first: deleting in map order could drop the bucket in use
	// right now and hand its key a fresh burst.
	keys := make([]string, 0, len(l.buckets))
	for k := range l.buckets {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return l.buckets[keys[i]].seen.Before(l.buckets[keys[j]].seen) })
	for _, k := range keys[:len(keys)-l.max/2] {
		delete(l.buckets, k)
	}
}
