// Package live runs live shopping streams: an HLS, RTMP or SRT stream (or
// a local file read in real time) decoded by ffmpeg at the analysis rate,
// its frames run
// through the video pipeline's detection, tracking, matching and
// confidence decision as they arrive (video.LiveAnalyzer), and the items
// that pass pushed to viewers as Server-Sent Events.
//
// Bounded work: the decoder hands frames to the analysis through a queue
// of Config.Queue frames; when the analysis falls behind, the oldest
// queued frame is dropped for the newest (the stream's dropped count), so
// what is analysed is always close to the live edge and memory stays flat.
// The lag reported is the time from a frame leaving the decoder to the end
// of its analysis.
package live

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"math"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vitrine-dev/vitrine/internal/fetch"
	"github.com/vitrine-dev/vitrine/internal/media"
	"github.com/vitrine-dev/vitrine/internal/store"
	"github.com/vitrine-dev/vitrine/internal/video"
)

// States of a live stream.
const (
	StateRunning  = "running"
	StateStopping = "stopping" // stop asked for; the running server ends it
	StateStopped  = "stopped"
	StateFailed   = "failed"
)

// Errors; test with errors.Is.
var (
	ErrNotFound  = errors.New("live: no such stream")
	ErrBadSource = errors.New("live: bad source")
)

// Stream is a live stream as stored.
type Stream struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Source     string  `json:"source"`
	State      string  `json:"state"`
	Error      string  `json:"error,omitempty"`
	LagS       float64 `json:"lag_s"`
	Frames     int64   `json:"frames"`
	Dropped    int64   `json:"dropped"`
	Reconnects int64   `json:"reconnects"`
	Items      int64   `json:"items"`
	// VideoID is the video the recording became after the stream ended.
	VideoID   string     `json:"video_id,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
}

// Analyzer is the rolling analysis of one stream (video.LiveAnalyzer).
type Analyzer interface {
	Frame(ctx context.Context, img *image.RGBA, t float64) ([]video.LiveEvent, error)
	Close(t float64) []video.LiveEvent
	DetectSize() int
}

// Config configures a Manager. Zero fields take their defaults.
type Config struct {
	DB    *store.DB
	Media *media.Tool
	// Fetcher fetches HLS playlists and segments, and checks the addresses
	// of RTMP and SRT sources before ffmpeg connects (its address rules
	// apply to every source).
	Fetcher *fetch.Fetcher
	// NetTimeout bounds connecting to an RTMP or SRT source and each read
	// from it (DefaultNetTimeout when 0).
	NetTimeout time.Duration
	// TLS is the base TLS configuration of rtmps sources (nil: the system
	// roots); the server name is always the source's host.
	TLS *tls.Config
	// NewAnalyzer starts the analysis of a stream.
	NewAnalyzer func(ctx context.Context) (Analyzer, error)
	// FPS is the analysis rate in frames per second (default 2).
	FPS float64
	// Queue is how many decoded frames wait for the analysis (default 2).
	Queue int
	// Backoff is the reconnect policy of a failing HLS, RTMP or SRT source.
	Backoff Backoff
	// Poll is how often the manager looks for streams to start or stop
	// (started by another process, the CLI) and beats its heartbeat
	// (default 2 s); a stream whose owner's heartbeat is older than
	// 5 polls is taken over.
	Poll time.Duration
	// Exclusive says this process is the only one running streams (the
	// embedded SQLite mode): it resumes every running stream at start
	// whoever ran it before.
	Exclusive bool
	// Remote says this process runs no streams (an API-only node): Start
	// records a stream for a node that runs them, as the CLI does.
	Remote bool
	// Recordings, when set, is the directory where a network stream's
	// bytes (an HLS stream's segments, an RTMP or SRT stream copied to
	// MPEG-TS) are kept as they arrive (one MPEG-TS file per
	// stream, continued when a restarted server resumes it). When the
	// stream ends, OnRecorded turns the file into a video (the app adds it
	// as an upload, analysed by the video workflow) and the file is
	// removed once it succeeds.
	Recordings string
	OnRecorded func(ctx context.Context, s Stream, path string) (videoID string, err error)
	Logger     *slog.Logger
}

// Manager starts, runs and stops the live streams of one server process.
type Manager struct {
	cfg  Config
	log  *slog.Logger
	node string
	now  func() time.Time

	mu      sync.Mutex
	running map[string]*runner
	closed  bool // shut down: no stream starts here any more
	wg      sync.WaitGroup
}

// runner is a stream running in this process.
type runner struct {
	cancel context.CancelCauseFunc
	hub    *hub
	done   chan struct{}

	mu         sync.Mutex
	lag        float64
	frames     int64
	dropped    int64
	reconnects int64
	items      int64
	lastError  string
	// position is the stream time of the last analysed frame.
	position float64
	// begun is set once the run took over the stream's state
	// (beginRun): until then the stored counters, position and time are
	// the last run's, which beginRun reads.
	begun bool
}

// errStopped is the cause of a stream cancelled by Stop.
var errStopped = errors.New("stopped")

// New returns a Manager; Run starts its background work.
func New(cfg Config) (*Manager, error) {
	if cfg.DB == nil || cfg.NewAnalyzer == nil {
		return nil, errors.New("live: DB and NewAnalyzer are required")
	}
	if cfg.Media == nil {
		cfg.Media = media.Default
	}
	if cfg.Fetcher == nil {
		cfg.Fetcher = fetch.New(fetch.Config{})
	}
	if cfg.FPS <= 0 {
		cfg.FPS = 2
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 2
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{cfg: cfg, log: log, node: "n_" + strings.ToLower(rand.Text()[:12]), now: func() time.Time { return time.Now().UTC() },
		running: map[string]*runner{}}, nil
}

// NewID returns a new stream id.
func NewID() string { return "ls_" + strings.ToLower(rand.Text()[:16]) }

// CheckSource validates a source: an http(s) URL of an HLS playlist, an
// rtmp, rtmps or srt URL (an SRT source is called: mode=caller, with a
// port and only the parameters ffmpeg's srt protocol takes for a stream:
// streamid, passphrase, pbkeylen, latency, rcvlatency, peerlatency), or an
// absolute path of a local file. The fetcher's address rules apply when a
// stream connects (and at once to a literal address, in Manager.Start).
func CheckSource(src string) error {
	if isNet(src) {
		return checkNetSource(src)
	}
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		u, err := url.Parse(src)
		if err != nil || u.Host == "" {
			return fmt.Errorf("%w: %q is not a valid URL", ErrBadSource, src)
		}
		if u.User != nil {
			return fmt.Errorf("%w: URLs with credentials are not allowed", ErrBadSource)
		}
		return nil
	}
	if scheme, _, ok := strings.Cut(src, "://"); ok {
		return fmt.Errorf("%w: %.20q sources are not supported: only http(s) HLS, rtmp(s) and srt URLs and local files", ErrBadSource, scheme)
	}
	if !filepath.IsAbs(src) {
		return fmt.Errorf("%w: %q: a local file must be an absolute path", ErrBadSource, src)
	}
	return nil
}

// IsFile reports whether a (checked) source is a local file.
func IsFile(src string) bool { return !strings.Contains(src, "://") }

// Create records a new running stream without starting it here: the
// server process that runs streams picks it up (the CLI's live start).
func Create(ctx context.Context, db *store.DB, source, name string) (Stream, error) {
	return create(ctx, db, source, name, "", time.Now().UTC())
}

func create(ctx context.Context, db *store.DB, source, name, owner string, now time.Time) (Stream, error) {
	if err := CheckSource(source); err != nil {
		return Stream{}, err
	}
	if len(name) > 200 {
		return Stream{}, fmt.Errorf("%w: name longer than 200 bytes", ErrBadSource)
	}
	id := NewID()
	var hb any
	if owner != "" {
		hb = now
	}
	if _, err := db.Write.ExecContext(ctx, db.Rebind(`INSERT INTO live_streams(id, name, source, state, owner, heartbeat_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), id, name, source, StateRunning, owner, hb, now, now); err != nil {
		return Stream{}, fmt.Errorf("live: create stream: %w", err)
	}
	return Get(ctx, db, id)
}

const streamCols = `id, name, source, state, error, lag_s, frames, dropped, reconnects, items, video_id, created_at, updated_at, ended_at`

func scanStream(sc interface{ Scan(...any) error }) (Stream, error) {
	var s Stream
	var ended sql.NullTime
	err := sc.Scan(&s.ID, &s.Name, &s.Source, &s.State, &s.Error, &s.LagS, &s.Frames, &s.Dropped, &s.Reconnects, &s.Items, &s.VideoID,
		&s.CreatedAt, &s.UpdatedAt, &ended)
	if ended.Valid {
		t := ended.Time.UTC()
		s.EndedAt = &t
	}
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	return s, err
}

// Get returns a stream.
func Get(ctx context.Context, db *store.DB, id string) (Stream, error) {
	s, err := scanStream(db.Read.QueryRowContext(ctx, db.Rebind(`SELECT `+streamCols+` FROM live_streams WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Stream{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return Stream{}, fmt.Errorf("live: get %s: %w", id, err)
	}
	return s, nil
}

// List returns the most recent streams, newest first.
func List(ctx context.Context, db *store.DB, limit int) ([]Stream, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := db.Read.QueryContext(ctx, db.Rebind(`SELECT `+streamCols+` FROM live_streams ORDER BY created_at DESC, id LIMIT ?`), limit)
	if err != nil {
		return nil, fmt.Errorf("live: list: %w", err)
	}
	defer rows.Close()
	out := []Stream{}
	for rows.Next() {
		s, err := scanStream(rows)
		if err != nil {
			return nil, fmt.Errorf("live: list: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// RequestStop asks the process running a stream to stop it (the CLI's
// live stop); a stream that has already ended is left as it is.
func RequestStop(ctx context.Context, db *store.DB, id string) (Stream, error) {
	if _, err := Get(ctx, db, id); err != nil {
		return Stream{}, err
	}
	if _, err := db.Write.ExecContext(ctx, db.Rebind(`UPDATE live_streams SET state = ?, updated_at = ? WHERE id = ? AND state = ?`),
		StateStopping, time.Now().UTC(), id, StateRunning); err != nil {
		return Stream{}, fmt.Errorf("live: stop %s: %w", id, err)
	}
	return Get(ctx, db, id)
}

// Item is an item announced in a stream.
type Item struct {
	ID         string   `json:"id"`
	ProductID  string   `json:"product_id"`
	Label      string   `json:"label"`
	Confidence float64  `json:"confidence"`
	FirstS     float64  `json:"first_s"`
	StartS     float64  `json:"start_s"`
	EndS       *float64 `json:"end_s,omitempty"`
}

// Items returns the items announced in a stream, in order.
func Items(ctx context.Context, db *store.DB, id string) ([]Item, error) {
	rows, err := db.Read.QueryContext(ctx, db.Rebind(`SELECT item_id, product_id, label, confidence, first_s, start_s, end_s
		FROM live_items WHERE stream_id = ? ORDER BY start_s, item_id`), id)
	if err != nil {
		return nil, fmt.Errorf("live: items of %s: %w", id, err)
	}
	defer rows.Close()
	out := []Item{}
	for rows.Next() {
		var it Item
		var end sql.NullFloat64
		if err := rows.Scan(&it.ID, &it.ProductID, &it.Label, &it.Confidence, &it.FirstS, &it.StartS, &end); err != nil {
			return nil, fmt.Errorf("live: items of %s: %w", id, err)
		}
		if end.Valid {
			it.EndS = &end.Float64
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// Start records a new stream and runs it in this process (unless
// Config.Remote).
func (m *Manager) Start(ctx context.Context, source, name string) (Stream, error) {
	if err := m.checkAddress(source); err != nil {
		return Stream{}, err
	}
	if m.cfg.Remote {
		return Create(ctx, m.cfg.DB, source, name)
	}
	s, err := create(ctx, m.cfg.DB, source, name, m.node, m.now())
	if err != nil {
		return Stream{}, err
	}
	m.launch(s)
	return s, nil
}

// checkAddress refuses at once a URL source whose host is a literal
// address the fetcher's rules refuse; names are checked when the stream
// connects.
func (m *Manager) checkAddress(source string) error {
	if err := CheckSource(source); err != nil || IsFile(source) {
		return err
	}
	u, err := url.Parse(source)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadSource, err)
	}
	if a, err := netip.ParseAddr(u.Hostname()); err == nil {
		if err := m.cfg.Fetcher.CheckAddr(a); err != nil {
			return fmt.Errorf("%w: %w", ErrBadSource, err)
		}
	}
	return nil
}

// Stop stops a stream: at once when it runs here, else through the
// process that runs it.
func (m *Manager) Stop(ctx context.Context, id string) (Stream, error) {
	m.mu.Lock()
	r := m.running[id]
	m.mu.Unlock()
	if r == nil {
		s, err := RequestStop(ctx, m.cfg.DB, id)
		if err != nil {
			return s, err
		}
		// Nobody may be running it (a crashed owner): settle it now.
		m.reconcile(ctx)
		return Get(ctx, m.cfg.DB, id)
	}
	r.cancel(errStopped)
	select {
	case <-r.done:
	case <-ctx.Done():
		return Stream{}, ctx.Err()
	}
	return Get(ctx, m.cfg.DB, id)
}

// Run resumes the streams left running, then starts and stops streams as
// other processes ask, until ctx ends; it then stops the streams running
// here, leaving them running in the database for the next start.
func (m *Manager) Run(ctx context.Context) {
	t := time.NewTicker(m.cfg.Poll)
	defer t.Stop()
	m.reconcileWith(ctx, m.cfg.Exclusive)
	for {
		select {
		case <-ctx.Done():
			m.shutdown()
			return
		case <-t.C:
			m.reconcile(ctx)
		}
	}
}

// shutdown ends the streams running here without changing their state.
func (m *Manager) shutdown() {
	m.mu.Lock()
	m.closed = true
	for _, r := range m.running {
		r.cancel(context.Canceled)
	}
	m.mu.Unlock()
	m.wg.Wait()
}

// Wait waits for every stream running here to end (tests).
func (m *Manager) Wait() { m.wg.Wait() }

func (m *Manager) reconcile(ctx context.Context) { m.reconcileWith(ctx, false) }

// reconcileWith claims the running streams nobody runs (all of them when
// takeAll), stops the local streams asked to stop, settles stop requests
// nobody will act on and beats the heartbeat of the local streams.
func (m *Manager) reconcileWith(ctx context.Context, takeAll bool) {
	db := m.cfg.DB
	now := m.now()
	stale := now.Add(-5 * m.cfg.Poll)
	rows, err := db.Read.QueryContext(ctx, db.Rebind(`SELECT `+streamCols+`, owner, heartbeat_at FROM live_streams WHERE state IN (?, ?)`),
		StateRunning, StateStopping)
	if err != nil {
		m.log.WarnContext(ctx, "live: reconcile", "err", err)
		return
	}
	type row struct {
		s     Stream
		owner string
		hb    sql.NullTime
	}
	var rs []row
	for rows.Next() {
		var r row
		var ended sql.NullTime
		if err := rows.Scan(&r.s.ID, &r.s.Name, &r.s.Source, &r.s.State, &r.s.Error, &r.s.LagS, &r.s.Frames, &r.s.Dropped, &r.s.Reconnects,
			&r.s.Items, &r.s.VideoID, &r.s.CreatedAt, &r.s.UpdatedAt, &ended, &r.owner, &r.hb); err != nil {
			m.log.WarnContext(ctx, "live: reconcile", "err", err)
			rows.Close()
			return
		}
		rs = append(rs, r)
	}
	rows.Close()
	for _, r := range rs {
		m.mu.Lock()
		local := m.running[r.s.ID]
		m.mu.Unlock()
		orphan := r.owner == "" || r.owner == m.node || takeAll || !r.hb.Valid || r.hb.Time.Before(stale)
		switch {
		case r.s.State == StateStopping && local != nil:
			local.cancel(errStopped)
		case r.s.State == StateStopping && orphan:
			m.finish(ctx, r.s.ID, StateStopped, "")
		case r.s.State == StateRunning && local == nil && orphan:
			// Two nodes may see the same orphan: the owner check lets one win.
			res, err := db.Write.ExecContext(ctx, db.Rebind(`UPDATE live_streams SET owner = ?, heartbeat_at = ? WHERE id = ? AND state = ? AND owner = ?`),
				m.node, now, r.s.ID, StateRunning, r.owner)
			if err != nil {
				m.log.WarnContext(ctx, "live: claim", "stream", r.s.ID, "err", err)
				continue
			}
			if n, _ := res.RowsAffected(); n == 1 {
				m.log.InfoContext(ctx, "live: resuming stream", "stream", r.s.ID, "source", redact(r.s.Source))
				m.launch(r.s)
			}
		}
	}
	m.mu.Lock()
	ids := make([]string, 0, len(m.running))
	for id := range m.running {
		ids = append(ids, id)
	}
	m.mu.Unlock()
	for _, id := range ids {
		m.saveStats(ctx, id)
	}
}

// launch runs s in this process.
func (m *Manager) launch(s Stream) {
	ctx, cancel := context.WithCancelCause(context.Background())
	r := &runner{cancel: cancel, hub: newHub(), done: make(chan struct{})}
	m.mu.Lock()
	if _, ok := m.running[s.ID]; ok || m.closed {
		// A stream started while the server stops stays running in the
		// database for the next start.
		m.mu.Unlock()
		cancel(nil)
		return
	}
	m.running[s.ID] = r
	m.mu.Unlock()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(r.done)
		defer cancel(nil)
		err := m.stream(ctx, s, r)
		cause := context.Cause(ctx)
		fctx := context.Background()
		state, msg := StateStopped, ""
		switch {
		case errors.Is(cause, errStopped):
		case errors.Is(cause, context.Canceled):
			// Server shutdown: the stream stays running for the next start.
			state = ""
		case err != nil:
			state, msg = StateFailed, err.Error()
			m.log.Warn("live: stream failed", "stream", s.ID, "err", err)
		}
		r.hub.close()
		m.mu.Lock()
		delete(m.running, s.ID)
		m.mu.Unlock()
		m.saveStatsOf(fctx, s.ID, r)
		if state != "" {
			m.finish(fctx, s.ID, state, msg)
			m.recorded(fctx, s)
		}
	}()
}

// recordingPath is where a stream's recording is kept.
func (m *Manager) recordingPath(id string) string {
	return filepath.Join(m.cfg.Recordings, id+".ts")
}

// recorded hands an ended stream's recording to OnRecorded and stores the
// video it became.
func (m *Manager) recorded(ctx context.Context, s Stream) {
	if m.cfg.Recordings == "" || m.cfg.OnRecorded == nil || IsFile(s.Source) {
		return
	}
	path := m.recordingPath(s.ID)
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		return
	}
	vid, err := m.cfg.OnRecorded(ctx, s, path)
	if err != nil {
		m.log.Warn("live: recording not added as a video (kept)", "stream", s.ID, "path", path, "err", err)
		return
	}
	db := m.cfg.DB
	if _, err := db.Write.ExecContext(ctx, db.Rebind(`UPDATE live_streams SET video_id = ?, updated_at = ? WHERE id = ?`), vid, m.now(), s.ID); err != nil {
		m.log.Warn("live: record video id", "stream", s.ID, "err", err)
	}
	if err := os.Remove(path); err != nil {
		m.log.Warn("live: remove recording", "path", path, "err", err)
	}
}

// recorder keeps a copy of what the decoder gets; a failing disk stops
// the recording, never the stream.
type recorder struct {
	f   *os.File
	log *slog.Logger
	err error
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.err == nil {
		if _, r.err = r.f.Write(p); r.err != nil {
			r.log.Warn("live: recording stopped", "path", r.f.Name(), "err", r.err)
		}
	}
	return len(p), nil
}

func (m *Manager) finish(ctx context.Context, id, state, msg string) {
	db := m.cfg.DB
	now := m.now()
	// One transaction: a reader never sees the stream ended with items
	// still on screen.
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		// Items still open (their run died without ending them) end
		// where the analysis last reported.
		var pos float64
		if err := tx.QueryRowContext(ctx, db.Rebind(`SELECT position_s FROM live_streams WHERE id = ?`), id).Scan(&pos); err != nil {
			return fmt.Errorf("close items: %w", err)
		}
		if _, err := closeOpenItems(ctx, tx, db, id, pos); err != nil {
			return fmt.Errorf("close items: %w", err)
		}
		if _, err := tx.ExecContext(ctx, db.Rebind(`UPDATE live_streams SET state = ?, error = ?, updated_at = ?, ended_at = ?, owner = '' WHERE id = ?`),
			state, msg, now, now, id); err != nil {
			return fmt.Errorf("end stream: %w", err)
		}
		return nil
	})
	if err != nil {
		m.log.Warn("live: finish stream", "stream", id, "err", err)
	}
}

func (m *Manager) saveStats(ctx context.Context, id string) {
	m.mu.Lock()
	r := m.running[id]
	m.mu.Unlock()
	if r != nil {
		m.saveStatsOf(ctx, id, r)
	}
}

// saveStatsOf stores a running stream's counters and beats its heartbeat.
func (m *Manager) saveStatsOf(ctx context.Context, id string, r *runner) {
	r.mu.Lock()
	lag, frames, dropped, rec, items, lastErr, pos, begun := r.lag, r.frames, r.dropped, r.reconnects, r.items, r.lastError, r.position, r.begun
	r.mu.Unlock()
	if !begun {
		return
	}
	db := m.cfg.DB
	now := m.now()
	if _, err := db.Write.ExecContext(ctx, db.Rebind(`UPDATE live_streams SET lag_s = ?, frames = ?, dropped = ?, reconnects = ?, items = ?, error = ?,
		position_s = ?, updated_at = ?, heartbeat_at = ? WHERE id = ? AND owner = ?`), lag, frames, dropped, rec, items, lastErr, pos, now, now, id, m.node); err != nil {
		m.log.Warn("live: save stream stats", "stream", id, "err", err)
	}
}

// frameIn is a decoded frame waiting for the analysis.
type frameIn struct {
	img *image.RGBA
	t   float64   // stream time: 0 at the first frame
	pts float64   // the source's time (media.LiveFrames)
	at  time.Time // when the decoder delivered it
}

// resumed is where a run of a stream starts: the run's number (1 for the
// first), the stream time of its first frame and the items an earlier run
// left open, now ended.
type resumed struct {
	run    int
	base   float64
	closed []video.LiveEvent
}

// beginRun counts a new run of stream id. A run after the first continues
// the stream's clock from where the last one stopped (its last analysed
// frame, plus the time since it last reported), and ends the items it
// left open there: a crashed or restarted server announced them, and no
// item.end will come from it.
func (m *Manager) beginRun(ctx context.Context, id string) (resumed, error) {
	db := m.cfg.DB
	var res resumed
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		var runs int
		var pos float64
		var updated time.Time
		if err := tx.QueryRowContext(ctx, db.Rebind(`SELECT runs, position_s, updated_at FROM live_streams WHERE id = ?`), id).Scan(&runs, &pos, &updated); err != nil {
			return err
		}
		res = resumed{run: runs + 1}
		if runs > 0 {
			res.base = pos + max(0, m.now().Sub(updated).Seconds())
			closed, err := closeOpenItems(ctx, tx, db, id, pos)
			if err != nil {
				return err
			}
			res.closed = closed
		}
		_, err := tx.ExecContext(ctx, db.Rebind(`UPDATE live_streams SET runs = ? WHERE id = ?`), res.run, id)
		return err
	})
	if err != nil {
		return resumed{}, fmt.Errorf("live: begin run of %s: %w", id, err)
	}
	return res, nil
}

// closeOpenItems ends the stream's items that have no end at stream time
// at (at their start when that is later) and returns their item.end
// events.
func closeOpenItems(ctx context.Context, tx *sql.Tx, db *store.DB, id string, at float64) ([]video.LiveEvent, error) {
	rows, err := tx.QueryContext(ctx, db.Rebind(`SELECT item_id, product_id, label, confidence, first_s, start_s FROM live_items
		WHERE stream_id = ? AND end_s IS NULL ORDER BY start_s, item_id`), id)
	if err != nil {
		return nil, err
	}
	var evs []video.LiveEvent
	for rows.Next() {
		var it video.LiveItem
		var start float64
		if err := rows.Scan(&it.ID, &it.ProductID, &it.Label, &it.Confidence, &it.FirstS, &start); err != nil {
			rows.Close()
			return nil, err
		}
		it.T = max(start, at)
		evs = append(evs, video.LiveEvent{Type: video.LiveItemEnd, Item: it})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, db.Rebind(`UPDATE live_items SET end_s = CASE WHEN start_s > ? THEN start_s ELSE ? END
		WHERE stream_id = ? AND end_s IS NULL`), at, at, id); err != nil {
		return nil, err
	}
	return evs, nil
}

// shiftRun puts a run's events on the stream's clock (base, the run's
// first frame) and, after the first run, keeps their item ids apart from
// earlier runs' ("r2-t5"): the analyser of each run counts from zero.
func shiftRun(evs []video.LiveEvent, res resumed) {
	if res.run <= 1 {
		return
	}
	for i := range evs {
		it := &evs[i].Item
		it.ID = "r" + strconv.Itoa(res.run) + "-" + it.ID
		it.T += res.base
		it.FirstS += res.base
		if it.Box != nil {
			b := *it.Box
			b.T += res.base
			it.Box = &b
		}
	}
}

// stream runs one stream until its source ends, it fails or ctx ends.
func (m *Manager) stream(ctx context.Context, s Stream, r *runner) error {
	res, err := m.beginRun(ctx, s.ID)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.position, r.begun = res.base, true
	r.mu.Unlock()
	// beginRun stored their ends; only the viewers are still to be told.
	for _, e := range res.closed {
		r.hub.publish(e)
	}
	an, err := m.cfg.NewAnalyzer(ctx)
	if err != nil {
		return fmt.Errorf("live: start analysis: %w", err)
	}
	in := media.LiveInput{File: s.Source}
	var pullErr error
	pullDone := make(chan struct{})
	if !IsFile(s.Source) {
		pr, pw := io.Pipe()
		in = media.LiveInput{Reader: pr}
		onRetry := func(attempt int, wait time.Duration, err error) {
			m.log.Warn("live: source failed, reconnecting", "stream", s.ID, "attempt", attempt, "wait", wait, "err", err)
			r.mu.Lock()
			r.reconnects++
			r.lastError = err.Error()
			r.mu.Unlock()
		}
		// Both pullers write an MPEG-TS byte stream: what follows (the
		// decoder, the recording) does not depend on the source's kind.
		var p interface {
			run(ctx context.Context, w io.Writer) error
		} = &hlsPuller{url: s.Source, fetcher: m.cfg.Fetcher, backoff: m.cfg.Backoff, onRetry: onRetry}
		if isNet(s.Source) {
			p = &netPuller{url: s.Source, fetcher: m.cfg.Fetcher, media: m.cfg.Media, backoff: m.cfg.Backoff,
				timeout: m.cfg.NetTimeout, tls: m.cfg.TLS, onRetry: onRetry}
		}
		var sink io.Writer = pw
		if m.cfg.Recordings != "" {
			if err := os.MkdirAll(m.cfg.Recordings, 0o750); err != nil {
				return fmt.Errorf("live: recordings: %w", err)
			}
			f, err := os.OpenFile(m.recordingPath(s.ID), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
			if err != nil {
				return fmt.Errorf("live: recording: %w", err)
			}
			defer f.Close()
			sink = io.MultiWriter(pw, &recorder{f: f, log: m.log})
		}
		go func() {
			defer close(pullDone)
			pullErr = p.run(ctx, sink)
			pw.CloseWithError(pullErr) // nil: the decoder sees the end of the stream
		}()
		defer func() { pr.CloseWithError(errors.New("stream ended")) }()
	} else {
		close(pullDone)
	}
	frames := make(chan frameIn, m.cfg.Queue)
	var decErr error
	go func() {
		defer close(frames)
		size := an.DetectSize()
		first := math.NaN()
		decErr = m.cfg.Media.LiveFrames(ctx, in, media.FrameOptions{MaxWidth: size, MaxHeight: size, FPS: m.cfg.FPS}, func(f media.Frame) error {
			if math.IsNaN(first) {
				first = f.PTS
			}
			fi := frameIn{img: f.RGBA(), t: f.PTS - first, pts: f.PTS, at: time.Now()}
			// Never block the decoder: when the queue is full the oldest
			// frame makes room for the newest.
			for range m.cfg.Queue + 1 {
				select {
				case frames <- fi:
					return nil
				default:
				}
				select {
				case <-frames:
					r.mu.Lock()
					r.dropped++
					r.mu.Unlock()
				default:
				}
			}
			return nil
		})
	}()
	// offset turns stream times back into the source's (frameIn.pts - t).
	// last is the analyser's time of the last frame, without the run's
	// base.
	last, offset := 0.0, 0.0
	// An HLS source's segments reach the decoder unchanged, so their clock
	// is the one a viewer's player of the playlist has; RTMP and SRT are
	// re-muxed (media.Receive) and a file has no viewers' copy.
	hls := !IsFile(s.Source) && !isNet(s.Source)
	var anErr error
	for fi := range frames {
		if anErr != nil {
			continue // drain so the decoder ends
		}
		evs, err := an.Frame(ctx, fi.img, fi.t)
		if err != nil {
			if ctx.Err() == nil {
				anErr = err
				r.cancel(err)
			}
			continue
		}
		shiftRun(evs, res)
		last, offset = fi.t, fi.pts-(fi.t+res.base)
		if hls {
			stampPTS(evs, offset)
		}
		r.mu.Lock()
		r.position = fi.t + res.base
		r.frames++
		r.lag = time.Since(fi.at).Seconds()
		r.mu.Unlock()
		m.publish(s.ID, r, evs)
	}
	closing := an.Close(last)
	shiftRun(closing, res)
	if hls {
		stampPTS(closing, offset)
	}
	m.publish(s.ID, r, closing)
	<-pullDone
	switch {
	case anErr != nil:
		return anErr
	case pullErr != nil && !errors.Is(pullErr, context.Canceled):
		return pullErr
	case decErr != nil && ctx.Err() == nil:
		return decErr
	}
	return nil
}

// stampPTS gives each event the source time of its stream time T, which
// may lie before the frame that caused it (an item.end).
func stampPTS(evs []video.LiveEvent, offset float64) {
	for i := range evs {
		evs[i].Item.PTS = evs[i].Item.T + offset
	}
}

// publish records the items' starts and ends and hands the events to the
// stream's subscribers.
func (m *Manager) publish(id string, r *runner, evs []video.LiveEvent) {
	db := m.cfg.DB
	ctx := context.Background()
	for _, e := range evs {
		switch e.Type {
		case video.LiveItemStart:
			if _, err := db.Write.ExecContext(ctx, db.Rebind(`INSERT INTO live_items(stream_id, item_id, product_id, label, confidence, first_s, start_s)
				VALUES (?, ?, ?, ?, ?, ?, ?)`), id, e.Item.ID, e.Item.ProductID, e.Item.Label, e.Item.Confidence, e.Item.FirstS, e.Item.T); err != nil {
				m.log.Warn("live: record item", "stream", id, "err", err)
			}
			r.mu.Lock()
			r.items++
			r.mu.Unlock()
		case video.LiveItemEnd:
			if _, err := db.Write.ExecContext(ctx, db.Rebind(`UPDATE live_items SET end_s = ? WHERE stream_id = ? AND item_id = ?`), e.Item.T, id, e.Item.ID); err != nil {
				m.log.Warn("live: record item end", "stream", id, "err", err)
			}
		}
		r.hub.publish(e)
	}
}

// redact hides a source's secrets for logs and errors: an http(s) or SRT
// URL's query (a token; SRT's passphrase and streamid), an RTMP URL's
// stream key (what follows the application) and query, and credentials.
func redact(src string) string {
	if IsFile(src) {
		return src
	}
	u, err := url.Parse(src)
	if err != nil {
		return "(invalid URL)"
	}
	u.User, u.Fragment, u.RawFragment = nil, "", ""
	switch u.Scheme {
	case "rtmp", "rtmps":
		base := u.Scheme + "://" + u.Host
		if app := rtmpApp(u); app != "" {
			return base + "/" + app + "/…"
		}
		if strings.Trim(u.Path, "/") == "" && u.RawQuery == "" {
			return base
		}
		return base + "/…"
	}
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	return u.String()
}
