package live

import (
	"context"
	"image"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/shoppable"
	"github.com/vitrine-dev/vitrine/internal/store"
	"github.com/vitrine-dev/vitrine/internal/store/storetest"
	"github.com/vitrine-dev/vitrine/internal/testenv"
	"github.com/vitrine-dev/vitrine/internal/video"
)

// pacedAnalyzer stands in for the model-backed video.LiveAnalyzer (which
// TestLiveHLSEndToEnd runs) where a test needs the analysis to take a set
// time per frame and to announce known items: with every set, each item
// lives three frames (start, update, end).
type pacedAnalyzer struct {
	per   time.Duration
	every int

	mu     sync.Mutex
	n      int
	frames []float64
}

func (a *pacedAnalyzer) DetectSize() int { return 160 }

func (a *pacedAnalyzer) Frame(ctx context.Context, img *image.RGBA, t float64) ([]video.LiveEvent, error) {
	select {
	case <-time.After(a.per):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.n++
	a.frames = append(a.frames, t)
	if a.every == 0 {
		return nil, nil
	}
	box := &shoppable.Box{T: t, X: 0.1, Y: 0.1, W: 0.2, H: 0.2}
	k := (a.n-1)/a.every + 1
	it := video.LiveItem{ID: "t" + strconv.Itoa(k), ProductID: "p" + strconv.Itoa(k), T: t, FirstS: t, Box: box}
	switch (a.n - 1) % a.every {
	case 0:
		return []video.LiveEvent{{Type: video.LiveItemStart, Item: it}}, nil
	case 1:
		return []video.LiveEvent{{Type: video.LiveItemUpdate, Item: it}}, nil
	case 2:
		it.Box = nil
		return []video.LiveEvent{{Type: video.LiveItemEnd, Item: it}}, nil
	}
	return nil, nil
}

func (a *pacedAnalyzer) Close(t float64) []video.LiveEvent { return nil }

func (a *pacedAnalyzer) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n
}

// clip writes a test-pattern video of dur seconds.
func clip(t *testing.T, dur int) string {
	t.Helper()
	testenv.NeedFFmpeg(t)
	p := filepath.Join(t.TempDir(), "clip.mp4")
	testenv.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration="+strconv.Itoa(dur), "-pix_fmt", "yuv420p", p)
	return p
}

func openDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "vitrine.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func waitState(t *testing.T, db *store.DB, id string, want string, within time.Duration) Stream {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		s, err := Get(context.Background(), db, id)
		if err != nil {
			t.Fatal(err)
		}
		if s.State == want {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s is %s after %v, want %s (error %q)", id, s.State, within, want, s.Error)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDropPolicy reads a 4 s file in real time at 2 frames per second
// into analyses of different speeds: a fast one takes every frame, a slow
// one (0.9 s a frame, half the rate it gets) drops the oldest queued frames,
// keeps its lag within the queue's worth of analyses and analyses the
// newest frames.
func TestDropPolicy(t *testing.T) {
	src := clip(t, 4)
	tests := []struct {
		name                 string
		per                  time.Duration
		minFrames, maxFrames int64
		minDropped           int64
		maxLag               float64
	}{
		{name: "fast analysis keeps every frame", per: 10 * time.Millisecond, minFrames: 7, maxFrames: 9, maxLag: 0.5},
		{name: "slow analysis drops frames", per: 900 * time.Millisecond, minFrames: 4, maxFrames: 7, minDropped: 2, maxLag: 3 * 0.9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openDB(t)
			an := &pacedAnalyzer{per: tc.per}
			m, err := New(Config{DB: db, Queue: 2, NewAnalyzer: func(context.Context) (Analyzer, error) { return an, nil }})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s, err := m.Start(ctx, src, "drop")
			if err != nil {
				t.Fatal(err)
			}
			m.Wait()
			s = waitState(t, db, s.ID, StateStopped, 5*time.Second)
			t.Logf("%d frames analysed, %d dropped, lag %.2f s, times %v", s.Frames, s.Dropped, s.LagS, an.frames)
			if s.Frames < tc.minFrames || s.Frames > tc.maxFrames || s.Dropped < tc.minDropped || s.LagS > tc.maxLag {
				t.Errorf("frames %d (want %d..%d), dropped %d (want >= %d), lag %.2f s (want <= %.2f)", s.Frames, tc.minFrames, tc.maxFrames, s.Dropped, tc.minDropped, s.LagS, tc.maxLag)
			}
			if s.Frames+s.Dropped < 7 {
				t.Errorf("%d frames analysed and %d dropped: the decoder made about 8", s.Frames, s.Dropped)
			}
			if n := len(an.frames); n > 0 && an.frames[n-1] < 3 {
				t.Errorf("last analysed frame at %.1f s: the newest frames must be kept", an.frames[n-1])
			}
		})
	}
}

// TestEventsResume follows a stream's events over HTTP, leaves after a
// few and comes back with Last-Event-ID: it gets exactly the events it
// missed. A new viewer gets the items on screen, and every viewer the
// stream's end.
func TestEventsResume(t *testing.T) {
	src := clip(t, 5)
	db := openDB(t)
	an := &pacedAnalyzer{per: 5 * time.Millisecond, every: 3}
	m, err := New(Config{DB: db, NewAnalyzer: func(context.Context) (Analyzer, error) { return an, nil }})
	if err != nil {
		t.Fatal(err)
	}
	srv := newEventServer(t, m)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := m.Start(ctx, src, "resume")
	if err != nil {
		t.Fatal(err)
	}
	url := srv.URL + "/" + s.ID

	// The first viewer reads three events and leaves.
	first := make(chan clientEvent, 64)
	c1, leave := context.WithCancel(ctx)
	go subscribe(c1, t, url, "", first)
	var seen []clientEvent
	for ev := range first {
		seen = append(seen, ev)
		if len(seen) == 3 {
			break
		}
	}
	leave()
	lastID := seen[len(seen)-1].id
	// Let events pass while it is away.
	for an.count() < 7 {
		time.Sleep(20 * time.Millisecond)
	}
	back := make(chan clientEvent, 64)
	go subscribe(ctx, t, url, lastID, back)
	// A viewer joining now sees an update or end only of an item whose
	// start it got (the items on screen come first).
	late := make(chan clientEvent, 64)
	go subscribe(ctx, t, url, "", late)
	lateDone := make(chan struct{})
	go func() {
		defer close(lateDone)
		started := map[string]bool{}
		for ev := range late {
			switch ev.typ {
			case video.LiveItemStart:
				started[ev.data.Item.ID] = true
			case video.LiveItemUpdate, video.LiveItemEnd:
				if !started[ev.data.Item.ID] {
					t.Errorf("late viewer got %s of %s without its start", ev.typ, ev.data.Item.ID)
				}
			}
		}
	}()
	var after []clientEvent
	for ev := range back {
		after = append(after, ev)
		if ev.typ == StreamEnd {
			break
		}
	}
	m.Wait()
	<-lateDone
	all := append(seen, after...)
	// Every event once, ids increasing, and the item sequence complete.
	var prev int64
	var seq []string
	for _, ev := range all {
		if ev.typ == StreamEnd {
			continue
		}
		id, err := strconv.ParseInt(ev.id, 10, 64)
		if err != nil || id <= prev {
			t.Fatalf("event id %q after %d", ev.id, prev)
		}
		prev = id
		seq = append(seq, ev.typ+":"+ev.data.Item.ID)
	}
	want := []string{}
	for n := 1; n <= an.count(); n++ {
		id := "t" + strconv.Itoa((n-1)/3+1)
		want = append(want, []string{"item.start:", "item.update:", "item.end:"}[(n-1)%3]+id)
	}
	if strings.Join(seq, " ") != strings.Join(want, " ") {
		t.Errorf("events\n%v\nwant\n%v", seq, want)
	}
	if all[len(all)-1].typ != StreamEnd || all[len(all)-1].data.State != StateStopped {
		t.Errorf("last event %+v, want %s with state %s", all[len(all)-1], StreamEnd, StateStopped)
	}
}

// TestStopAndResume checks the lifecycle on SQLite and PostgreSQL: a
// stream left running by a server that shuts down is resumed by the next
// one, a stop asked for through the database (the CLI) ends it, and a bad
// source is refused.
func TestStopAndResume(t *testing.T) {
	src := clip(t, 30)
	for _, o := range storetest.All() {
		t.Run(o.Name, func(t *testing.T) { stopAndResume(t, src, o.Open(t)) })
	}
}

func stopAndResume(t *testing.T, src string, db *store.DB) {
	newManager := func() (*Manager, *pacedAnalyzer) {
		an := &pacedAnalyzer{per: 5 * time.Millisecond}
		m, err := New(Config{DB: db, Poll: 100 * time.Millisecond, Exclusive: true, NewAnalyzer: func(context.Context) (Analyzer, error) { return an, nil }})
		if err != nil {
			t.Fatal(err)
		}
		return m, an
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, bad := range []string{"ftp://host/x.m3u8", "relative/file.mp4", "http://user:pw@host/x.m3u8", "http://"} {
		if _, err := Create(ctx, db, bad, ""); err == nil {
			t.Errorf("source %q accepted", bad)
		}
	}
	// The CLI records a stream; the first server runs it.
	s, err := Create(ctx, db, src, "cli")
	if err != nil {
		t.Fatal(err)
	}
	m1, an1 := newManager()
	runFrames(ctx, m1, an1.count, 2)
	if s = waitState(t, db, s.ID, StateRunning, time.Second); s.Frames < 2 {
		t.Errorf("frames %d after the first server, want at least 2", s.Frames)
	}
	// The next server resumes it.
	m2, an2 := newManager()
	go m2.Run(ctx)
	for an2.count() < 2 {
		time.Sleep(20 * time.Millisecond)
	}
	// A stop asked for through the database reaches it.
	if _, err := RequestStop(ctx, db, s.ID); err != nil {
		t.Fatal(err)
	}
	s = waitState(t, db, s.ID, StateStopped, 5*time.Second)
	if s.EndedAt == nil {
		t.Error("stopped stream has no end time")
	}
	if _, err := m2.Stop(ctx, "ls_missing"); err == nil {
		t.Error("stopping a missing stream succeeded")
	}
	// An API-only node (Remote) records a stream; the running server
	// runs it, and the node's stop reaches it.
	api, err := New(Config{DB: db, Remote: true, NewAnalyzer: func(context.Context) (Analyzer, error) {
		t.Error("a remote manager started an analysis")
		return nil, context.Canceled
	}})
	if err != nil {
		t.Fatal(err)
	}
	s3, err := api.Start(ctx, src, "api")
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if st, _ := Get(ctx, db, s3.ID); st.Frames > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the running server did not take up the remote node's stream")
		}
	}
	if _, err := api.Stop(ctx, s3.ID); err != nil {
		t.Fatal(err)
	}
	waitState(t, db, s3.ID, StateStopped, 5*time.Second)
}

// newEventServer serves a manager's event streams at /{id}.
func newEventServer(t *testing.T, m *Manager) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := m.ServeEvents(w, r, strings.TrimPrefix(r.URL.Path, "/"), nil, time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestResumeAfterCrash checks, on SQLite and PostgreSQL, what a run that
// resumes a stream does with the items a dead run announced: it ends them
// where that run's analysis last reported, continues the stream's clock
// from there and gives its own items ids apart from the dead run's (each
// run's analyser counts from t1).
func TestResumeAfterCrash(t *testing.T) {
	src := clip(t, 30)
	for _, o := range storetest.All() {
		t.Run(o.Name, func(t *testing.T) { resumeAfterCrash(t, src, o.Open(t)) })
	}
}

func resumeAfterCrash(t *testing.T, src string, db *store.DB) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	newManager := func() (*Manager, *announcingAnalyzer) {
		an := &announcingAnalyzer{pacedAnalyzer{per: 5 * time.Millisecond}}
		m, err := New(Config{DB: db, Poll: 100 * time.Millisecond, Exclusive: true, NewAnalyzer: func(context.Context) (Analyzer, error) { return an, nil }})
		if err != nil {
			t.Fatal(err)
		}
		return m, an
	}
	s, err := Create(ctx, db, src, "crash")
	if err != nil {
		t.Fatal(err)
	}
	m1, an1 := newManager()
	runFrames(ctx, m1, an1.count, 4) // t1 stays open, as after a crash
	var pos float64
	if err := db.Read.QueryRowContext(ctx, db.Rebind(`SELECT position_s FROM live_streams WHERE id = ?`), s.ID).Scan(&pos); err != nil {
		t.Fatal(err)
	}
	an1.mu.Lock()
	lastT := an1.frames[len(an1.frames)-1]
	an1.mu.Unlock()
	if pos <= 0 || pos > lastT {
		t.Fatalf("position %.2f s after the first run, want its last analysed frame (at most %.2f s)", pos, lastT)
	}
	m2, an2 := newManager()
	go m2.Run(ctx)
	for an2.count() < 2 {
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := m2.Stop(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	waitState(t, db, s.ID, StateStopped, 5*time.Second)
	items, err := Items(ctx, db, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Item{}
	for _, it := range items {
		byID[it.ID] = it
	}
	first, ok := byID["t1"]
	if !ok || first.EndS == nil || *first.EndS != max(first.StartS, pos) {
		t.Errorf("the first run's item: %+v (end %v), want it ended at its run's position %.2f s", first, deref(first.EndS), pos)
	}
	second, ok := byID["r2-t1"]
	if !ok {
		t.Fatalf("the resumed run's item is missing: %+v", items)
	}
	if second.StartS < pos {
		t.Errorf("the resumed run's item starts at %.2f s, before the first run's position %.2f s", second.StartS, pos)
	}
	if second.EndS == nil || *second.EndS < second.StartS {
		t.Errorf("the resumed run's item after the stop: %+v, want it ended", second)
	}
	if len(items) != 2 {
		t.Errorf("%d items, want 2: %+v", len(items), items)
	}
}

// runFrames runs m until its analyser has seen n frames (count), then
// shuts it down as a server that stops does, and waits for it.
func runFrames(ctx context.Context, m *Manager, count func() int, n int) {
	run, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); m.Run(run) }()
	for count() < n {
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	<-done
}

// announcingAnalyzer announces t1 on its first frame and never ends it.
type announcingAnalyzer struct{ pacedAnalyzer }

func (a *announcingAnalyzer) Frame(ctx context.Context, img *image.RGBA, t float64) ([]video.LiveEvent, error) {
	if _, err := a.pacedAnalyzer.Frame(ctx, img, t); err != nil {
		return nil, err
	}
	if a.count() > 1 {
		return nil, nil
	}
	return []video.LiveEvent{{Type: video.LiveItemStart, Item: video.LiveItem{ID: "t1", ProductID: "p1", T: t, FirstS: t,
		Box: &shoppable.Box{T: t, X: 0.1, Y: 0.1, W: 0.2, H: 0.2}}}}, nil
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
