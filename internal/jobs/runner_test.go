package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vitrine-dev/vitrine/internal/store"
	"github.com/vitrine-dev/vitrine/internal/store/storetest"
)

// TestWorkflowSuite runs the workflow conformance suite on every database
// backend: the same behaviour on SQLite and PostgreSQL.
func TestWorkflowSuite(t *testing.T) {
	for _, o := range storetest.All() {
		t.Run(o.Name, func(t *testing.T) {
			for _, tc := range workflowSuite {
				t.Run(tc.name, func(t *testing.T) { tc.fn(t, o) })
			}
		})
	}
}

var workflowSuite = []struct {
	name string
	fn   func(t *testing.T, open storetest.Opener)
}{
	{"StepsRunInOrderWithOutputsAndCommit", testStepsRunInOrderWithOutputsAndCommit},
	{"RetryWithBackoffThenSuccess", testRetryWithBackoffThenSuccess},
	{"PermanentFailureAfterMaxAttempts", testPermanentFailureAfterMaxAttempts},
	{"PermanentErrorFailsWithoutRetries", testPermanentErrorFailsWithoutRetries},
	{"RetryFailedWorkflowKeepsFinishedSteps", testRetryFailedWorkflowKeepsFinishedSteps},
	{"CancelRunningStep", testCancelRunningStep},
	{"CancelPendingWorkflow", testCancelPendingWorkflow},
	{"TimeoutFailsAttempt", testTimeoutFailsAttempt},
	{"PanicIsAFailureNotACrash", testPanicIsAFailureNotACrash},
	{"FailedCommitRollsBackAndRetries", testFailedCommitRollsBackAndRetries},
	{"RegisterAndEnqueueErrors", testRegisterAndEnqueueErrors},
	{"EnqueueTxFollowsTheTransaction", testEnqueueTxFollowsTheTransaction},
	{"StepMetrics", testStepMetrics},
	{"StaleRunAfterRetryIsDiscarded", testStaleRunAfterRetryIsDiscarded},
}

func newRunner(t *testing.T, open storetest.Opener, opts Options, defs ...Definition) (*Runner, *store.DB) {
	t.Helper()
	return newRunnerTB(t, open, opts, defs...)
}

// newRunnerTB opens a fresh database with open and starts a runner on it.
// On SQLite the runner owns the database (Exclusive), as in the embedded
// default; on PostgreSQL it is one node of many.
func newRunnerTB(t testing.TB, open storetest.Opener, opts Options, defs ...Definition) (*Runner, *store.DB) {
	t.Helper()
	db := open.Open(t)
	if opts.Workers == 0 {
		opts.Workers = 2
	}
	opts.Exclusive = db.Dialect == store.SQLite
	return startRunner(t, db, opts, defs...), db
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func wait(t *testing.T, r *Runner, id int64) *Workflow {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w, err := r.Wait(ctx, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func noop(context.Context, *StepContext) error { return nil }

func testStepsRunInOrderWithOutputsAndCommit(t *testing.T, open storetest.Opener) {
	var db *store.DB // set below; the step closures need its Rebind
	var mu sync.Mutex
	var order []string
	record := func(name string) StepFunc {
		return func(ctx context.Context, sc *StepContext) error {
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			return nil
		}
	}
	def := Definition{Kind: "t", Steps: []Step{
		{Name: "a", Run: func(ctx context.Context, sc *StepContext) error {
			record("a")(ctx, sc)
			sc.Progress(5, 10)
			sc.Log("halfway", "done", 5)
			sc.OnCommit(func(ctx context.Context, tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO settings(key, value) VALUES ('t', ?)`), sc.Subject)
				return err
			})
			return sc.SetOutput(map[string]int{"n": 42})
		}},
		{Name: "b", Run: func(ctx context.Context, sc *StepContext) error {
			record("b")(ctx, sc)
			var out map[string]int
			if err := sc.Output("a", &out); err != nil {
				return err
			}
			if out["n"] != 42 {
				return fmt.Errorf("output of a is %v", out)
			}
			return nil
		}},
		{Name: "c", Run: record("c")},
	}}
	r, db0 := newRunner(t, open, Options{}, def)
	db = db0
	ctx := context.Background()
	id, err := r.Enqueue(ctx, "t", "subject-1", map[string]string{"x": "y"})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	w, err := r.Wait(ctx, id, func(w *Workflow) { seen = append(seen, w.State) })
	if err != nil {
		t.Fatal(err)
	}
	if w.State != StateSucceeded {
		t.Fatalf("state %s (%s)", w.State, w.Error)
	}
	if fmt.Sprint(order) != "[a b c]" {
		t.Errorf("order %v", order)
	}
	if seen[len(seen)-1] != StateSucceeded {
		t.Errorf("Wait callback saw %v", seen)
	}
	for _, s := range w.Steps {
		if s.State != StateSucceeded || s.Attempts != 1 || s.StartedAt == nil || s.FinishedAt == nil {
			t.Errorf("step %+v", s)
		}
	}
	if w.Steps[0].Done != 10 || w.Steps[0].Total != 10 {
		t.Errorf("progress of a: %d/%d", w.Steps[0].Done, w.Steps[0].Total)
	}
	if string(w.Input) != `{"x":"y"}` || w.Subject != "subject-1" {
		t.Errorf("input %s subject %s", w.Input, w.Subject)
	}
	if string(w.Steps[0].Output) != `{"n":42}` {
		t.Errorf("output of a: %s", w.Steps[0].Output)
	}
	// A list has the same steps, their outputs only when asked.
	for _, outputs := range []bool{false, true} {
		list, err := r.List(ctx, ListParams{Kind: "t", Outputs: outputs})
		if err != nil || len(list) != 1 || list[0].ID != id || len(list[0].Steps) != 3 || string(list[0].Input) != `{"x":"y"}` {
			t.Fatalf("List(outputs %v) = %+v, %v", outputs, list, err)
		}
		for i, s := range list[0].Steps {
			want := w.Steps[i]
			if !outputs {
				want.Output = nil
			}
			if s.Name != want.Name || s.State != want.State || s.Done != want.Done || string(s.Output) != string(want.Output) {
				t.Errorf("List(outputs %v) step %d = %+v, want %+v", outputs, i, s, want)
			}
		}
	}
	var v string
	if err := db.Read.QueryRow(`SELECT value FROM settings WHERE key = 't'`).Scan(&v); err != nil || v != "subject-1" {
		t.Errorf("OnCommit write: %q %v", v, err)
	}
	logs, err := r.Logs(ctx, id, 0, 0)
	if err != nil || len(logs) != 1 || logs[0].Msg != "halfway" || logs[0].Attrs["done"] != float64(5) {
		t.Errorf("logs %+v %v", logs, err)
	}
	list, err := r.List(ctx, ListParams{Kind: "t"})
	if err != nil || len(list) != 1 || list[0].ID != id {
		t.Errorf("list %v %v", list, err)
	}
}

func testRetryWithBackoffThenSuccess(t *testing.T, open storetest.Opener) {
	var calls atomic.Int32
	var mu sync.Mutex
	var starts []time.Time
	def := Definition{Kind: "flaky", Steps: []Step{{Name: "flaky", MaxAttempts: 5, Run: func(ctx context.Context, sc *StepContext) error {
		mu.Lock()
		starts = append(starts, time.Now())
		mu.Unlock()
		if n := calls.Add(1); n < 3 {
			return fmt.Errorf("transient failure %d", n)
		}
		return nil
	}}}}
	base := 100 * time.Millisecond
	r, _ := newRunner(t, open, Options{RetryBase: base, RetryMax: time.Second}, def)
	id, err := r.Enqueue(context.Background(), "flaky", "s", nil)
	if err != nil {
		t.Fatal(err)
	}
	w := wait(t, r, id)
	if w.State != StateSucceeded || w.Steps[0].Attempts != 3 {
		t.Fatalf("state %s attempts %d error %q", w.State, w.Steps[0].Attempts, w.Error)
	}
	// Backoff doubles: at least base before the 2nd attempt, 2·base before the 3rd.
	if g := starts[1].Sub(starts[0]); g < base {
		t.Errorf("first retry after %s, want >= %s", g, base)
	}
	if g := starts[2].Sub(starts[1]); g < 2*base {
		t.Errorf("second retry after %s, want >= %s", g, 2*base)
	}
	runs, _ := r.StepRuns(context.Background(), id)
	outcomes := ""
	for _, ru := range runs {
		outcomes += ru.Outcome + " "
	}
	if outcomes != "failed failed succeeded " {
		t.Errorf("run outcomes %q", outcomes)
	}
}

func testPermanentFailureAfterMaxAttempts(t *testing.T, open storetest.Opener) {
	var calls atomic.Int32
	var second atomic.Bool
	def := Definition{Kind: "bad", Steps: []Step{
		{Name: "breaks", MaxAttempts: 3, Run: func(ctx context.Context, sc *StepContext) error {
			calls.Add(1)
			return errors.New("disk on fire")
		}},
		{Name: "never", Run: func(context.Context, *StepContext) error { second.Store(true); return nil }},
	}}
	r, _ := newRunner(t, open, Options{}, def)
	ctx := context.Background()
	id, err := r.Enqueue(ctx, "bad", "s", nil)
	if err != nil {
		t.Fatal(err)
	}
	w := wait(t, r, id)
	if w.State != StateFailed || w.Steps[0].State != StateFailed || w.Steps[0].Attempts != 3 || calls.Load() != 3 {
		t.Fatalf("workflow %s step %+v calls %d", w.State, w.Steps[0], calls.Load())
	}
	if w.Error != "step breaks: disk on fire" || w.Steps[0].Error != "disk on fire" {
		t.Errorf("errors %q / %q", w.Error, w.Steps[0].Error)
	}
	if w.Steps[1].State != StatePending || second.Load() {
		t.Errorf("second step ran or changed: %+v", w.Steps[1])
	}
	// Give the queue a moment: no further attempt may happen.
	time.Sleep(300 * time.Millisecond)
	if calls.Load() != 3 {
		t.Errorf("step ran %d times after failing for good", calls.Load())
	}
	if err := r.Cancel(ctx, id); !errors.Is(err, ErrConflict) {
		t.Errorf("cancel of failed workflow: %v, want ErrConflict", err)
	}
}

func testPermanentErrorFailsWithoutRetries(t *testing.T, open storetest.Opener) {
	var calls atomic.Int32
	var fixed atomic.Bool
	def := Definition{Kind: "badmedia", Steps: []Step{
		{Name: "probe", MaxAttempts: 5, Run: func(ctx context.Context, sc *StepContext) error {
			calls.Add(1)
			if fixed.Load() {
				return nil
			}
			// Wrapped after marking, as a step's callers do.
			return fmt.Errorf("probe: %w", Permanent(errors.New("not a video")))
		}},
		{Name: "after", Run: noop},
	}}
	r, _ := newRunner(t, open, Options{}, def)
	ctx := context.Background()
	id, err := r.Enqueue(ctx, "badmedia", "s", nil)
	if err != nil {
		t.Fatal(err)
	}
	w := wait(t, r, id)
	if w.State != StateFailed || w.Steps[0].State != StateFailed || w.Steps[0].Attempts != 1 || calls.Load() != 1 {
		t.Fatalf("workflow %s step %+v calls %d; want failed after one attempt", w.State, w.Steps[0], calls.Load())
	}
	if w.Error != "step probe: probe: not a video" || w.Steps[0].Error != "probe: not a video" {
		t.Errorf("errors %q / %q", w.Error, w.Steps[0].Error)
	}
	if w.Steps[1].State != StatePending {
		t.Errorf("next step: %+v", w.Steps[1])
	}
	// Longer than the retry backoff: no further attempt may happen.
	time.Sleep(300 * time.Millisecond)
	if calls.Load() != 1 {
		t.Errorf("step ran %d times after a permanent error", calls.Load())
	}
	// An operator's retry (the file was replaced) still runs it again.
	fixed.Store(true)
	if err := r.Retry(ctx, id); err != nil {
		t.Fatal(err)
	}
	if w := wait(t, r, id); w.State != StateSucceeded || calls.Load() != 2 {
		t.Errorf("after retry: %s, %d calls", w.State, calls.Load())
	}
}

func TestPermanent(t *testing.T) {
	base := errors.New("bad media")
	for _, tc := range []struct {
		name      string
		err       error
		permanent bool
		text      string
	}{
		{"nil", Permanent(nil), false, ""},
		{"plain", base, false, "bad media"},
		{"marked", Permanent(base), true, "bad media"},
		{"marked twice", Permanent(Permanent(base)), true, "bad media"},
		{"wrapped after marking", fmt.Errorf("decode: %w", Permanent(base)), true, "decode: bad media"},
		{"joined", errors.Join(errors.New("x"), Permanent(base)), true, "x\nbad media"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsPermanent(tc.err); got != tc.permanent {
				t.Errorf("IsPermanent = %v, want %v", got, tc.permanent)
			}
			if got := errors.Is(tc.err, ErrPermanent); got != tc.permanent {
				t.Errorf("errors.Is(ErrPermanent) = %v, want %v", got, tc.permanent)
			}
			if tc.err == nil {
				return
			}
			if tc.err.Error() != tc.text {
				t.Errorf("text %q, want %q", tc.err.Error(), tc.text)
			}
			if !errors.Is(tc.err, base) {
				t.Errorf("the cause is lost: %v", tc.err)
			}
		})
	}
}

func testRetryFailedWorkflowKeepsFinishedSteps(t *testing.T, open storetest.Opener) {
	var aCalls, bCalls atomic.Int32
	var healthy atomic.Bool
	def := Definition{Kind: "re", Steps: []Step{
		{Name: "a", Run: func(context.Context, *StepContext) error { aCalls.Add(1); return nil }},
		{Name: "b", MaxAttempts: 1, Run: func(context.Context, *StepContext) error {
			bCalls.Add(1)
			if !healthy.Load() {
				return errors.New("not yet")
			}
			return nil
		}},
	}}
	r, _ := newRunner(t, open, Options{}, def)
	ctx := context.Background()
	id, _ := r.Enqueue(ctx, "re", "s", nil)
	if w := wait(t, r, id); w.State != StateFailed {
		t.Fatalf("state %s", w.State)
	}
	if err := r.Retry(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("retry of missing workflow: %v", err)
	}
	healthy.Store(true)
	if err := r.Retry(ctx, id); err != nil {
		t.Fatal(err)
	}
	if w := wait(t, r, id); w.State != StateSucceeded {
		t.Fatalf("after retry: %s %s", w.State, w.Error)
	}
	if aCalls.Load() != 1 || bCalls.Load() != 2 {
		t.Errorf("a ran %d times, b %d times; want 1 and 2", aCalls.Load(), bCalls.Load())
	}
	if err := r.Retry(ctx, id); !errors.Is(err, ErrConflict) {
		t.Errorf("retry of succeeded workflow: %v, want ErrConflict", err)
	}
}

func testCancelRunningStep(t *testing.T, open storetest.Opener) {
	started := make(chan struct{})
	var sawCancel, lastRan atomic.Bool
	def := Definition{Kind: "long", Steps: []Step{
		{Name: "sleep", Run: func(ctx context.Context, sc *StepContext) error {
			close(started)
			select {
			case <-ctx.Done():
				sawCancel.Store(true)
				return ctx.Err()
			case <-time.After(20 * time.Second):
				return nil
			}
		}},
		{Name: "after", Run: func(context.Context, *StepContext) error { lastRan.Store(true); return nil }},
	}}
	r, _ := newRunner(t, open, Options{}, def)
	ctx := context.Background()
	id, _ := r.Enqueue(ctx, "long", "s", nil)
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("step never started")
	}
	if err := r.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
	w := wait(t, r, id)
	if w.State != StateCancelled || w.Steps[0].State != StateCancelled || w.Steps[1].State != StateCancelled {
		t.Fatalf("workflow %s steps %s %s", w.State, w.Steps[0].State, w.Steps[1].State)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !sawCancel.Load() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !sawCancel.Load() {
		t.Error("running step did not see its context cancelled")
	}
	time.Sleep(200 * time.Millisecond)
	if lastRan.Load() {
		t.Error("step after the cancelled one ran")
	}
}

func testCancelPendingWorkflow(t *testing.T, open storetest.Opener) {
	var ran atomic.Bool
	def := Definition{Kind: "p", Steps: []Step{{Name: "x", Run: func(context.Context, *StepContext) error { ran.Store(true); return nil }}}}
	// Insert-only runner: nothing executes, so the workflow stays pending.
	ctx := context.Background()
	db := open.Open(t)
	r, err := New(ctx, db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.Register(def)
	id, err := r.Enqueue(ctx, "p", "s", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
	w, _ := r.Workflow(ctx, id)
	if w.State != StateCancelled || w.Steps[0].State != StateCancelled {
		t.Fatalf("%+v", w)
	}
	var state string
	db.Read.QueryRow(`SELECT state FROM river_job`).Scan(&state)
	if state != "cancelled" {
		t.Errorf("queue job state %q, want cancelled", state)
	}
	if err := r.Cancel(ctx, 12345); !errors.Is(err, ErrNotFound) {
		t.Errorf("cancel missing: %v", err)
	}
}

func testTimeoutFailsAttempt(t *testing.T, open storetest.Opener) {
	def := Definition{Kind: "slow", Steps: []Step{{Name: "slow", MaxAttempts: 2, Timeout: 50 * time.Millisecond, Run: func(ctx context.Context, sc *StepContext) error {
		<-ctx.Done()
		return ctx.Err()
	}}}}
	r, _ := newRunner(t, open, Options{}, def)
	id, _ := r.Enqueue(context.Background(), "slow", "s", nil)
	w := wait(t, r, id)
	if w.State != StateFailed || w.Steps[0].Attempts != 2 {
		t.Fatalf("state %s attempts %d", w.State, w.Steps[0].Attempts)
	}
}

func testPanicIsAFailureNotACrash(t *testing.T, open storetest.Opener) {
	def := Definition{Kind: "panic", Steps: []Step{{Name: "p", MaxAttempts: 1, Run: func(context.Context, *StepContext) error {
		var m map[string]int
		m["x"] = 1
		return nil
	}}}}
	r, _ := newRunner(t, open, Options{}, def)
	id, _ := r.Enqueue(context.Background(), "panic", "s", nil)
	w := wait(t, r, id)
	if w.State != StateFailed || len(w.Error) == 0 {
		t.Fatalf("state %s error %q", w.State, w.Error)
	}
}

func testFailedCommitRollsBackAndRetries(t *testing.T, open storetest.Opener) {
	var db *store.DB // set below; the step closures need its Rebind
	var calls atomic.Int32
	def := Definition{Kind: "commit", Steps: []Step{{Name: "c", MaxAttempts: 3, Run: func(ctx context.Context, sc *StepContext) error {
		n := calls.Add(1)
		sc.OnCommit(func(ctx context.Context, tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO settings(key, value) VALUES (?, 'x')`), fmt.Sprint("k", n)); err != nil {
				return err
			}
			if n == 1 {
				return errors.New("constraint broken")
			}
			return nil
		})
		return nil
	}}}}
	r, db0 := newRunner(t, open, Options{}, def)
	db = db0
	id, _ := r.Enqueue(context.Background(), "commit", "s", nil)
	if w := wait(t, r, id); w.State != StateSucceeded || w.Steps[0].Attempts != 2 {
		t.Fatalf("state %s attempts %d", w.State, w.Steps[0].Attempts)
	}
	var n int
	db.Read.QueryRow(`SELECT COUNT(*) FROM settings WHERE key IN ('k1', 'k2')`).Scan(&n)
	if n != 1 {
		t.Errorf("%d rows committed, want only the second attempt's", n)
	}
}

func testRegisterAndEnqueueErrors(t *testing.T, open storetest.Opener) {
	r, _ := newRunner(t, open, Options{}, Definition{Kind: "ok", Steps: []Step{{Name: "a", Run: noop}}})
	bad := []Definition{
		{Kind: "", Steps: []Step{{Name: "a", Run: noop}}},
		{Kind: "empty"},
		{Kind: "dup", Steps: []Step{{Name: "a", Run: noop}, {Name: "a", Run: noop}}},
		{Kind: "nofunc", Steps: []Step{{Name: "a"}}},
		{Kind: "ok", Steps: []Step{{Name: "a", Run: noop}}},
	}
	for _, d := range bad {
		if err := r.Register(d); err == nil {
			t.Errorf("Register(%q): no error", d.Kind)
		}
	}
	ctx := context.Background()
	if _, err := r.Enqueue(ctx, "nope", "s", nil); !errors.Is(err, ErrUnknownKind) {
		t.Errorf("enqueue unknown kind: %v", err)
	}
	if _, err := r.Enqueue(ctx, "ok", "s", []byte("{not json")); err == nil {
		t.Error("enqueue invalid JSON input: no error")
	}
	if _, err := r.Workflow(ctx, 4242); !errors.Is(err, ErrNotFound) {
		t.Errorf("workflow missing: %v", err)
	}
}

func TestBackoffDelays(t *testing.T) {
	b := &backoff{base: time.Second, max: 10 * time.Second}
	for _, tc := range []struct {
		attempt  int
		min, max time.Duration
	}{{1, time.Second, 1100 * time.Millisecond}, {2, 2 * time.Second, 2200 * time.Millisecond}, {3, 4 * time.Second, 4400 * time.Millisecond}, {10, 10 * time.Second, 11 * time.Second}} {
		d := b.delay(tc.attempt)
		if d < tc.min || d > tc.max {
			t.Errorf("attempt %d: delay %s not in [%s, %s]", tc.attempt, d, tc.min, tc.max)
		}
	}
}

func testEnqueueTxFollowsTheTransaction(t *testing.T, open storetest.Opener) {
	var ran atomic.Int32
	def := Definition{Kind: "tx", Steps: []Step{{Name: "a", Run: func(context.Context, *StepContext) error { ran.Add(1); return nil }}}}
	r, db := newRunner(t, open, Options{}, def)
	ctx := context.Background()
	var rolledBack int64
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		id, err := r.EnqueueTx(ctx, tx, "tx", "rolled-back", nil)
		rolledBack = id
		if err != nil {
			return err
		}
		return errors.New("caller changed its mind")
	})
	if err == nil {
		t.Fatal("Tx did not fail")
	}
	var id int64
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = r.EnqueueTx(ctx, tx, "tx", "kept", nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if w := wait(t, r, id); w.State != StateSucceeded {
		t.Fatalf("state %s", w.State)
	}
	// The id may be reused after a rollback; the subject tells them apart.
	if l, err := r.List(ctx, ListParams{Subject: "rolled-back"}); err != nil || len(l) != 0 {
		t.Errorf("rolled-back workflow %d exists: %v %v", rolledBack, l, err)
	}
	time.Sleep(100 * time.Millisecond)
	if ran.Load() != 1 {
		t.Errorf("step ran %d times, want 1 (only the committed workflow)", ran.Load())
	}
}

func testStepMetrics(t *testing.T, open storetest.Opener) {
	reg := prometheus.NewRegistry()
	def := Definition{Kind: "m", Steps: []Step{{Name: "a", Run: noop}}}
	r, _ := newRunner(t, open, Options{Metrics: reg}, def)
	id, _ := r.Enqueue(context.Background(), "m", "s", nil)
	wait(t, r, id)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() != "vitrine_workflow_step_runs_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["kind"] == "m" && labels["step"] == "a" && labels["outcome"] == "succeeded" && m.GetCounter().GetValue() == 1 {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("no succeeded step run counted: %v", mfs)
	}
}

// TestStaleRunAfterRetryIsDiscarded: a step that ignores cancellation
// finishes after the workflow was cancelled and retried; its late success
// must not commit, and the next step runs once.
func testStaleRunAfterRetryIsDiscarded(t *testing.T, open storetest.Opener) {
	release := make(chan struct{})
	firstStarted := make(chan struct{})
	var calls, nextCalls atomic.Int32
	def := Definition{Kind: "stale", Steps: []Step{
		{Name: "stubborn", Run: func(ctx context.Context, sc *StepContext) error {
			if calls.Add(1) == 1 {
				close(firstStarted)
				<-release // ignores ctx on purpose
			}
			return nil
		}},
		{Name: "next", Run: func(context.Context, *StepContext) error { nextCalls.Add(1); return nil }},
	}}
	r, _ := newRunner(t, open, Options{}, def)
	ctx := context.Background()
	id, _ := r.Enqueue(ctx, "stale", "s", nil)
	<-firstStarted
	if err := r.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := r.Retry(ctx, id); err != nil {
		t.Fatal(err)
	}
	if w := wait(t, r, id); w.State != StateSucceeded {
		t.Fatalf("state %s %s", w.State, w.Error)
	}
	close(release)
	deadline := time.Now().Add(10 * time.Second)
	var outcomes []string
	for time.Now().Before(deadline) {
		runs, _ := r.StepRuns(ctx, id)
		outcomes = outcomes[:0]
		for _, ru := range runs {
			if ru.Index == 0 {
				outcomes = append(outcomes, ru.Outcome)
			}
		}
		if len(outcomes) == 2 && outcomes[0] != "" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The late run ends as cancelled (River cancels its context) or
	// superseded (it returned before noticing); it never commits.
	if len(outcomes) != 2 || (outcomes[0] != "cancelled" && outcomes[0] != "superseded") || outcomes[1] != "succeeded" {
		t.Errorf("runs of the first step: %v", outcomes)
	}
	if nextCalls.Load() != 1 {
		t.Errorf("next step ran %d times", nextCalls.Load())
	}
}

// newNode starts another runner on the database at dsn with its own
// connection pool, as another vitrine process would.
func newNode(t testing.TB, dsn string, opts Options, defs ...Definition) *Runner {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return startRunner(t, db, opts, defs...)
}

// startRunner starts a runner on db with defs registered, polling fast and
// logging warnings to the test, and stops it when the test ends. Retries
// back off from 20ms unless opts say otherwise.
func startRunner(t testing.TB, db *store.DB, opts Options, defs ...Definition) *Runner {
	t.Helper()
	ctx := context.Background()
	opts.PollInterval = 20 * time.Millisecond
	if opts.RetryBase == 0 {
		opts.RetryBase, opts.RetryMax = 20*time.Millisecond, 200*time.Millisecond
	}
	opts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r, err := New(ctx, db, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range defs {
		if err := r.Register(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r.Stop(sctx)
	})
	return r
}
