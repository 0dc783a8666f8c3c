package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// APIFactory builds the HTTP API to load: its handler, the requests to
// send (cycled) and a cleanup function.
type APIFactory func(ctx context.Context) (APITarget, func(), error)

// APITarget is an HTTP handler and the requests to send it.
type APITarget struct {
	Handler  http.Handler
	Requests []APIRequest
}

// APIRequest is one GET request of the load.
type APIRequest struct {
	Name   string
	Path   string
	Header http.Header
}

// LoadOptions bounds a load run: it stops after Requests requests or
// Duration, whichever comes first.
type LoadOptions struct {
	Requests    int           // default 2000
	Duration    time.Duration // default 20s
	Concurrency int           // default 8
}

// LoadResult is what a load run measured.
type LoadResult struct {
	Sent       int
	Errors     int // transport errors and non-2xx responses
	Elapsed    time.Duration
	Throughput float64 // requests per second
	P50, P99   time.Duration
	Max        time.Duration
	Status     map[int]int
}

// Load serves h on a loopback port and sends it the requests, cycled, from
// Concurrency workers.
func Load(ctx context.Context, h http.Handler, reqs []APIRequest, o LoadOptions) (LoadResult, error) {
	if len(reqs) == 0 {
		return LoadResult{}, errors.New("bench: load: no requests")
	}
	if o.Requests <= 0 {
		o.Requests = 2000
	}
	if o.Duration <= 0 {
		o.Duration = 20 * time.Second
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return LoadResult{}, fmt.Errorf("bench: load: listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Shutdown below
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	base := "http://" + ln.Addr().String()
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: o.Concurrency, DisableCompression: true},
	}
	defer client.CloseIdleConnections()

	// The duration bound stops new requests; requests in flight finish, so
	// the server never sees a load-generator disconnect as an error.
	// The latency slice grows as needed: a request bound far above what the
	// duration allows must not allocate gigabytes up front (and spend the
	// duration doing it).
	lat := make([]time.Duration, 0, min(o.Requests, 1<<16))
	var next atomic.Int64
	var mu sync.Mutex
	res := LoadResult{Status: map[int]int{}}
	deadline := time.Now().Add(o.Duration)
	start := time.Now()
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(deadline) {
				i := next.Add(1) - 1
				if i >= int64(o.Requests) {
					return
				}
				rq := reqs[int(i)%len(reqs)]
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+rq.Path, nil)
				if err != nil {
					mu.Lock()
					res.Errors++
					mu.Unlock()
					continue
				}
				for k, v := range rq.Header {
					req.Header[k] = v
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				code := 0
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					code = resp.StatusCode
				}
				d := time.Since(t0)
				mu.Lock()
				if err != nil && ctx.Err() != nil {
					mu.Unlock()
					return // the caller gave up; not a server error
				}
				res.Sent++
				lat = append(lat, d)
				res.Status[code]++
				if err != nil || code < 200 || code > 299 {
					res.Errors++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	if res.Sent == 0 {
		return res, errors.New("bench: load: no request completed")
	}
	slices.Sort(lat)
	res.P50 = percentile(lat, 0.50)
	res.P99 = percentile(lat, 0.99)
	res.Max = lat[len(lat)-1]
	res.Throughput = float64(res.Sent) / res.Elapsed.Seconds()
	return res, nil
}

// percentile returns the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// statuses renders a status-code histogram such as "200×1990 429×10"
// (0 counts transport errors).
func statuses(m map[int]int) string {
	codes := make([]int, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var b strings.Builder
	for i, c := range codes {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d×%d", c, m[c])
	}
	return b.String()
}

func runAPI(ctx context.Context, env *Env, s *Section) error {
	if env.API == nil {
		return skipf("no API server wired in")
	}
	if env.Pipeline != nil {
		// Load the API with the catalog in place, as it is served.
		if _, err := env.ingest(ctx); err != nil {
			return fmt.Errorf("ingest catalog: %w", err)
		}
	}
	target, cleanup, err := env.API(ctx)
	if err != nil {
		return fmt.Errorf("start API: %w", err)
	}
	if cleanup != nil {
		defer cleanup()
	}
	o := LoadOptions{Requests: 10000, Duration: 20 * time.Second, Concurrency: 8}
	s.Method = fmt.Sprintf("The API server runs in-process on a loopback port (catalog ingested when a pipeline is available, rate limits off); %d workers send GET requests (cycling %d endpoints) until %d requests or %s, whichever comes first. "+
		"Latency is measured per request by the client, so it includes the loopback round trip.", o.Concurrency, len(target.Requests), o.Requests, o.Duration)
	all, err := Load(ctx, target.Handler, target.Requests, o)
	if err != nil {
		return err
	}
	s.Add("requests", float64(all.Sent), "")
	s.Add("errors", float64(all.Errors), "")
	s.Headline("throughput", all.Throughput, "req/s")
	s.Headline("latency p50", ms(all.P50.Seconds()), "ms")
	s.Add("latency p99", ms(all.P99.Seconds()), "ms")
	s.Add("latency max", ms(all.Max.Seconds()), "ms")
	t := Table{Title: "Per endpoint", Columns: []string{"endpoint", "requests", "errors", "statuses", "req/s", "p50 ms", "p99 ms"}}
	for _, rq := range target.Requests {
		r, err := Load(ctx, target.Handler, []APIRequest{rq}, LoadOptions{Requests: 2000, Duration: 10 * time.Second, Concurrency: o.Concurrency})
		if err != nil {
			return fmt.Errorf("load %s: %w", rq.Name, err)
		}
		t.Rows = append(t.Rows, []string{rq.Name, fmt.Sprint(r.Sent), fmt.Sprint(r.Errors), statuses(r.Status), f1(r.Throughput),
			f3(ms(r.P50.Seconds())), f3(ms(r.P99.Seconds()))})
	}
	s.Tables = append(s.Tables, t)
	return nil
}
