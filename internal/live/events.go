package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/vitrine-dev/vitrine/internal/video"
)

// StreamEnd is the event type of a stream's last event: the stream
// stopped, ended or failed, and the server closes the connection.
const StreamEnd = "stream.end"

// Event is one event of a stream with its id. Ids grow through a stream's
// life, also across server restarts (they start from the clock), so a
// client resuming with Last-Event-ID never takes a new event for an old
// one.
type Event struct {
	ID   int64
	Type string
	Item video.LiveItem
}

// ringSize bounds the events kept for resuming clients.
const ringSize = 512

// hub fans a running stream's events out to its subscribers: a bounded
// ring of the latest events, the open items (for a client that resumes
// from before the ring) and a channel closed at each publish.
type hub struct {
	mu     sync.Mutex
	next   int64
	ring   []Event
	open   map[string]Event // item id -> its item.start (updated box)
	notify chan struct{}
	closed bool
}

func newHub() *hub {
	return &hub{next: time.Now().UnixMicro(), open: map[string]Event{}, notify: make(chan struct{})}
}

func (h *hub) publish(e video.LiveEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.next++
	ev := Event{ID: h.next, Type: e.Type, Item: e.Item}
	if len(h.ring) == ringSize {
		h.ring = append(h.ring[:0], h.ring[1:]...)
	}
	h.ring = append(h.ring, ev)
	switch e.Type {
	case video.LiveItemStart, video.LiveItemUpdate:
		st := ev
		st.Type = video.LiveItemStart
		h.open[e.Item.ID] = st
	case video.LiveItemEnd:
		delete(h.open, e.Item.ID)
	}
	close(h.notify)
	h.notify = make(chan struct{})
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.notify)
	}
}

// since returns the events after id, a channel closed when more come, and
// whether the hub is closed. A client that is new (id 0) or older than the
// ring gets the open items instead, as item.start events with the latest
// event's id, so it continues from there.
func (h *hub) since(id int64) ([]Event, <-chan struct{}, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := len(h.ring); n > 0 && (id == 0 || id < h.ring[0].ID-1) {
		out := make([]Event, 0, len(h.open))
		for _, e := range h.open {
			out = append(out, e)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
		for i := range out {
			out[i].ID = h.ring[n-1].ID
		}
		if len(out) == 0 {
			// Nothing open: an event-less marker moves the client on.
			out = append(out, Event{ID: h.ring[n-1].ID})
		}
		return out, h.notify, h.closed
	}
	k := sort.Search(len(h.ring), func(i int) bool { return h.ring[i].ID > id })
	return append([]Event(nil), h.ring[k:]...), h.notify, h.closed
}

// Details returns the product details an event carries, by product id;
// ids it cannot resolve are left out.
type Details func(ctx context.Context, ids []string) map[string]any

// sseEvent is the data of one SSE event.
type sseEvent struct {
	Type    string          `json:"type"`
	Stream  string          `json:"stream"`
	Item    *video.LiveItem `json:"item,omitempty"`
	Product any             `json:"product,omitempty"`
	State   string          `json:"state,omitempty"`
}

// keepAlive is how often an idle event stream sends a comment, so proxies
// keep it open.
const keepAlive = 15 * time.Second

// ServeEvents streams a stream's events as Server-Sent Events (event:
// item.start, item.update, item.end; the last one stream.end) with their
// product details. A client that reconnects with Last-Event-ID (or
// ?last_event_id=) gets what it missed: the events after it when they are
// still kept, else the open items. It returns when the client leaves, the
// stream ends or maxDur passes (the client reconnects).
func (m *Manager) ServeEvents(w http.ResponseWriter, r *http.Request, id string, details Details, maxDur time.Duration) error {
	s, err := Get(r.Context(), m.cfg.DB, id)
	if err != nil {
		return err
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		return errors.New("live: response cannot stream")
	}
	var last int64
	for _, v := range []string{r.Header.Get("Last-Event-ID"), r.URL.Query().Get("last_event_id")} {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			last = n
			break
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// Ask the browser to wait a second before reconnecting.
	fmt.Fprint(w, "retry: 1000\n\n")
	fl.Flush()
	ctx := r.Context()
	if maxDur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, maxDur)
		defer cancel()
	}
	write := func(id int64, typ string, data sseEvent) error {
		b, err := json.Marshal(data)
		if err != nil {
			return err
		}
		if id > 0 {
			fmt.Fprintf(w, "id: %d\n", id)
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", typ, b); err != nil {
			return err
		}
		fl.Flush()
		return nil
	}
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	cache := map[string]any{}
	var run *runner
	for {
		if run == nil {
			// Once found, a runner is followed until its hub closes: its
			// last events come after it leaves the running set.
			m.mu.Lock()
			run = m.running[id]
			m.mu.Unlock()
		}
		if run == nil {
			// Not running here: ended, or run by another process.
			if s, err = Get(ctx, m.cfg.DB, id); err != nil {
				return nil
			}
			if s.State != StateRunning && s.State != StateStopping {
				return write(0, StreamEnd, sseEvent{Type: StreamEnd, Stream: id, State: s.State})
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
				continue
			}
		}
		evs, more, closed := run.hub.since(last)
		var need []string
		for _, e := range evs {
			if _, ok := cache[e.Item.ProductID]; !ok && e.Item.ProductID != "" {
				need = append(need, e.Item.ProductID)
			}
		}
		if len(need) > 0 && details != nil {
			for k, v := range details(ctx, need) {
				cache[k] = v
			}
		}
		for _, e := range evs {
			if e.Type == "" {
				last = max(last, e.ID)
				continue
			}
			it := e.Item
			if err := write(e.ID, e.Type, sseEvent{Type: e.Type, Stream: id, Item: &it, Product: cache[it.ProductID]}); err != nil {
				return nil
			}
			last = max(last, e.ID)
		}
		if closed {
			<-run.done
			s, _ = Get(context.WithoutCancel(ctx), m.cfg.DB, id)
			if s.State == StateRunning {
				// The server is shutting down: the client reconnects to
				// the next one with its Last-Event-ID.
				return nil
			}
			return write(0, StreamEnd, sseEvent{Type: StreamEnd, Stream: id, State: s.State})
		}
		select {
		case <-ctx.Done():
			return nil
		case <-more:
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
			fl.Flush()
		}
	}
}
