package jobs

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/store"
)

// TestResumeOrphans leaves two steps as a killed process would (queue job
// running, step running, an unfinished run row) and starts an exclusive
// runner: the step with attempts left runs again at once, the one on its
// last attempt fails with a clear error. The end-to-end SIGKILL version is
// TestCrashResume in cmd/vitrine.
func TestResumeOrphans(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var calls atomic.Int32
	def := Definition{Kind: "o", Steps: []Step{{Name: "s", MaxAttempts: 2, Run: func(context.Context, *StepContext) error {
		calls.Add(1)
		return nil
	}}}}
	opts := Options{PollInterval: 20 * time.Millisecond, Exclusive: true, Logger: slog.New(slog.DiscardHandler)}

	// The "dead" process: insert-only, so nothing runs; then fake its crash.
	dead, err := New(ctx, db, opts)
	if err != nil {
		t.Fatal(err)
	}
	dead.Register(def)
	again, _ := dead.Enqueue(ctx, "o", "has-attempts-left", nil)
	last, _ := dead.Enqueue(ctx, "o", "on-last-attempt", nil)
	for _, c := range []struct {
		id      int64
		attempt int
	}{{again, 1}, {last, 2}} {
		stmts := []struct {
			q    string
			args []any
		}{
			{`UPDATE river_job SET state = 'running', attempt = ?, attempted_at = strftime('%Y-%m-%d %H:%M:%f', 'now', '-5 seconds')
				WHERE id = (SELECT job_id FROM workflow_steps WHERE workflow_id = ?)`, []any{c.attempt, c.id}},
			{`UPDATE workflow_steps SET state = 'running', attempts = ? WHERE workflow_id = ?`, []any{c.attempt, c.id}},
			{`UPDATE workflows SET state = 'running' WHERE id = ?`, []any{c.id}},
			{`INSERT INTO workflow_step_runs(workflow_id, idx, attempt, started_at) VALUES (?, 0, ?, CURRENT_TIMESTAMP)`, []any{c.id, c.attempt}},
		}
		for _, st := range stmts {
			if _, err := db.Write.ExecContext(ctx, st.q, st.args...); err != nil {
				t.Fatalf("%s: %v", st.q, err)
			}
		}
	}

	opts.Workers = 1
	r, err := New(ctx, db, opts)
	if err != nil {
		t.Fatal(err)
	}
	r.Register(def)
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer r.Stop(ctx)

	w := wait(t, r, again)
	if w.State != StateSucceeded || w.Steps[0].Attempts != 2 {
		t.Errorf("resumed workflow: %s, attempts %d", w.State, w.Steps[0].Attempts)
	}
	runs, _ := r.StepRuns(ctx, again)
	if len(runs) != 2 || runs[0].Outcome != "interrupted" || runs[1].Outcome != "succeeded" {
		t.Errorf("runs %+v", runs)
	}
	w = wait(t, r, last)
	if w.State != StateFailed || w.Steps[0].Error != "interrupted on its last attempt" {
		t.Errorf("workflow on its last attempt: %s %q", w.State, w.Steps[0].Error)
	}
	if calls.Load() != 1 {
		t.Errorf("step ran %d times, want 1", calls.Load())
	}
}
