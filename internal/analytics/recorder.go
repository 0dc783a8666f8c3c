package analytics

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Recorder decouples ingestion from the database: requests hand records to
// a bounded queue and return at once; one goroutine writes them in batches.
// When the queue is full records are refused rather than queued without
// bound, so a flood cannot exhaust memory or stall the single SQLite writer.
type Recorder struct {
	st       *Store
	log      *slog.Logger
	interval time.Duration
	maxBatch int

	mu     sync.Mutex
	queue  []Record
	limit  int
	closed bool

	kick    chan struct{}
	flushes chan chan error
	done    chan struct{}

	written, dropped, failed atomic.Int64
}

// RecorderConfig tunes a Recorder; zero fields take the defaults in brackets.
type RecorderConfig struct {
	QueueSize     int           // records waiting to be written [50000]
	FlushInterval time.Duration // longest a record waits [1s]
	MaxWrite      int           // records per transaction [2000]
}

// NewRecorder starts a recorder writing to st. Call Close to stop it.
func NewRecorder(st *Store, cfg RecorderConfig, log *slog.Logger) *Recorder {
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 50000
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = time.Second
	}
	if cfg.MaxWrite <= 0 {
		cfg.MaxWrite = 2000
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Recorder{
		st: st, log: log, interval: cfg.FlushInterval, maxBatch: cfg.MaxWrite, limit: cfg.QueueSize,
		kick: make(chan struct{}, 1), flushes: make(chan chan error), done: make(chan struct{}),
	}
	go r.loop()
	return r
}

// ErrQueueFull is returned by Add when the recorder cannot take more records.
var ErrQueueFull = errors.New("analytics: event queue full")

// ErrClosed is returned by Add after Close.
var ErrClosed = errors.New("analytics: recorder closed")

// Add queues records for writing, all or none.
func (r *Recorder) Add(recs []Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	if len(r.queue)+len(recs) > r.limit {
		r.dropped.Add(int64(len(recs)))
		return ErrQueueFull
	}
	r.queue = append(r.queue, recs...)
	if len(r.queue) >= r.maxBatch {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// Flush writes everything queued so far.
func (r *Recorder) Flush(ctx context.Context) error {
	ch := make(chan error, 1)
	select {
	case r.flushes <- ch:
	case <-r.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting records, writes what is queued and stops.
func (r *Recorder) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	err := r.Flush(ctx)
	close(r.done)
	return err
}

// RecorderStats counts records written, refused (queue full) and lost to
// write errors.
type RecorderStats struct {
	Written int64 `json:"written"`
	Dropped int64 `json:"dropped"`
	Failed  int64 `json:"failed"`
	Queued  int   `json:"queued"`
}

// Stats returns the counters.
func (r *Recorder) Stats() RecorderStats {
	r.mu.Lock()
	q := len(r.queue)
	r.mu.Unlock()
	return RecorderStats{Written: r.written.Load(), Dropped: r.dropped.Load(), Failed: r.failed.Load(), Queued: q}
}

func (r *Recorder) loop() {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.writeAll()
		case <-r.kick:
			r.writeAll()
		case ch := <-r.flushes:
			ch <- r.writeAll()
		case <-r.done:
			return
		}
	}
}

// writeAll drains the queue in transactions of at most maxBatch records.
func (r *Recorder) writeAll() error {
	var errs []error
	for {
		r.mu.Lock()
		n := min(len(r.queue), r.maxBatch)
		batch := r.queue[:n:n]
		r.queue = r.queue[n:]
		if len(r.queue) == 0 {
			r.queue = nil // let the old backing array go
		}
		r.mu.Unlock()
		if n == 0 {
			return errors.Join(errs...)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := r.st.Write(ctx, batch)
		cancel()
		if err != nil {
			// Analytics are best effort: log and drop rather than retry
			// forever and grow the queue.
			r.failed.Add(int64(n))
			r.log.Error("analytics: write events", "events", n, "err", err)
			errs = append(errs, err)
			continue
		}
		r.written.Add(int64(n))
	}
}
