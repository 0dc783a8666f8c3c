package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/riverqueue/river"

	"github.com/vitrine-dev/vitrine/internal/store"
)

// stepWorker is the one River worker: it runs whichever workflow step its
// job names and records the outcome in the workflow tables.
type stepWorker struct {
	river.WorkerDefaults[stepArgs]
	r *Runner
}

// Timeout applies the step's own limit (River cancels the context after it).
func (w *stepWorker) Timeout(job *river.Job[stepArgs]) time.Duration {
	if s, ok := w.r.step(job.Args); ok && s.Timeout > 0 {
		return s.Timeout
	}
	return w.r.opts.StepTimeout
}

// step finds the registered step a job refers to.
func (r *Runner) step(a stepArgs) (Step, bool) {
	d, ok := r.Definition(a.WFKind)
	if !ok || a.Index < 0 || a.Index >= len(d.Steps) {
		return Step{}, false
	}
	return d.Steps[a.Index], true
}

type stepRow struct {
	kind, subject, wfState, state string
	input                         []byte
	jobID                         sql.NullInt64
}

func (r *Runner) loadStep(ctx context.Context, id int64, idx int) (stepRow, error) {
	var s stepRow
	err := r.db.Read.QueryRowContext(ctx, r.db.Rebind(`SELECT w.kind, w.subject, w.state, w.input, s.state, s.job_id
		FROM workflows w JOIN workflow_steps s ON s.workflow_id = w.id WHERE w.id = ? AND s.idx = ?`), id, idx).
		Scan(&s.kind, &s.subject, &s.wfState, &s.input, &s.state, &s.jobID)
	if errors.Is(err, sql.ErrNoRows) {
		return s, ErrNotFound
	}
	return s, err
}

func (w *stepWorker) Work(ctx context.Context, job *river.Job[stepArgs]) error {
	r := w.r
	a := job.Args
	st, err := r.loadStep(ctx, a.WorkflowID, a.Index)
	if errors.Is(err, ErrNotFound) {
		return river.JobCancel(fmt.Errorf("workflow %d step %d: %w", a.WorkflowID, a.Index, err))
	}
	if err != nil {
		return fmt.Errorf("jobs: load workflow %d: %w", a.WorkflowID, err)
	}
	switch {
	case st.wfState == StateCancelled || st.state == StateCancelled:
		return river.JobCancel(errCancelled)
	case st.state == StateSucceeded:
		// At-least-once delivery: this step's success is already committed.
		return nil
	case st.wfState == StateFailed || st.wfState == StateSucceeded:
		return river.JobCancel(fmt.Errorf("workflow %d is %s", a.WorkflowID, st.wfState))
	case st.jobID.Valid && st.jobID.Int64 != job.ID:
		// A retry queued a newer job for this step; that one does the work.
		return river.JobCancel(errStale)
	}
	def, ok := r.Definition(st.kind)
	if !ok || a.Index >= len(def.Steps) || def.Steps[a.Index].Name != a.Name {
		err := fmt.Errorf("%w %q (step %d %q) in this binary", ErrUnknownKind, st.kind, a.Index, a.Name)
		r.bookkeep(ctx, func(bctx context.Context) error {
			return r.db.Tx(bctx, func(tx *sql.Tx) error { return r.failTx(bctx, tx, a.WorkflowID, a.Index, a.Name, err) })
		})
		return river.JobCancel(err)
	}
	step := def.Steps[a.Index]

	runID, err := r.markRunning(ctx, a, job.Attempt)
	if err != nil {
		return fmt.Errorf("jobs: start step %s of workflow %d: %w", a.Name, a.WorkflowID, err)
	}

	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	me := &running{cancel: cancel}
	r.mu.Lock()
	r.running[a.WorkflowID] = me
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		if r.running[a.WorkflowID] == me {
			delete(r.running, a.WorkflowID)
		}
		r.mu.Unlock()
	}()
	stopWatch := r.watchCancel(sctx, a.WorkflowID, cancel)
	defer stopWatch()

	sc := &StepContext{
		WorkflowID: a.WorkflowID, Kind: st.kind, Subject: st.subject, Step: a.Name,
		Attempt: job.Attempt, Input: json.RawMessage(st.input),
		runner: r, index: a.Index, ctx: sctx,
	}
	start := time.Now()
	err = safeRun(sctx, step.Run, sc)
	if err == nil {
		err = r.commitSuccess(ctx, job, sc, runID, len(def.Steps))
		if err == nil {
			if a.Index+1 < len(def.Steps) {
				r.Wake(ctx)
			}
			r.metrics.observe(st.kind, a.Name, "succeeded", time.Since(start))
			r.log.Info("step succeeded", "workflow", a.WorkflowID, "kind", st.kind, "step", a.Name, "attempt", job.Attempt, "took", time.Since(start).Round(time.Millisecond))
			return nil
		}
	}
	took := time.Since(start)

	if errors.Is(err, errStale) {
		r.bookkeep(ctx, func(bctx context.Context) error {
			_, err := r.db.Write.ExecContext(bctx, r.db.Rebind(`UPDATE workflow_step_runs SET outcome = 'superseded' WHERE id = ?`), runID)
			return err
		})
		return river.JobCancel(errStale)
	}
	if errors.Is(context.Cause(sctx), errCancelled) || errors.Is(err, errCancelled) {
		r.metrics.observe(st.kind, a.Name, "cancelled", took)
		r.bookkeep(ctx, func(bctx context.Context) error {
			_, err := r.db.Write.ExecContext(bctx, r.db.Rebind(`UPDATE workflow_step_runs SET outcome = 'cancelled' WHERE id = ?`), runID)
			return err
		})
		return river.JobCancel(errCancelled)
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		// The queue is shutting down: River makes the job available again
		// without counting a failure.
		r.metrics.observe(st.kind, a.Name, "interrupted", took)
		r.bookkeep(ctx, func(bctx context.Context) error {
			return r.db.Tx(bctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(bctx, r.db.Rebind(`UPDATE workflow_step_runs SET outcome = 'interrupted' WHERE id = ?`), runID); err != nil {
					return err
				}
				_, err := tx.ExecContext(bctx, r.db.Rebind(`UPDATE workflow_steps SET state = ? WHERE workflow_id = ? AND idx = ? AND state = ?`),
					StateRetrying, a.WorkflowID, a.Index, StateRunning)
				return err
			})
		})
		return err
	}

	permanent := IsPermanent(err)
	final := permanent || job.Attempt >= job.MaxAttempts
	r.metrics.observe(st.kind, a.Name, "failed", took)
	r.log.Warn("step failed", "workflow", a.WorkflowID, "kind", st.kind, "step", a.Name, "attempt", job.Attempt, "max_attempts", job.MaxAttempts, "final", final, "permanent", permanent, "err", err)
	r.bookkeep(ctx, func(bctx context.Context) error {
		return r.db.Tx(bctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(bctx, r.db.Rebind(`UPDATE workflow_step_runs SET outcome = 'failed' WHERE id = ?`), runID); err != nil {
				return err
			}
			if final {
				return r.failTx(bctx, tx, a.WorkflowID, a.Index, a.Name, err)
			}
			_, err := tx.ExecContext(bctx, r.db.Rebind(`UPDATE workflow_steps SET state = ?, error = ? WHERE workflow_id = ? AND idx = ? AND state = ?`),
				StateRetrying, err.Error(), a.WorkflowID, a.Index, StateRunning)
			return err
		})
	})
	if permanent {
		// River would retry an ordinary error: the step is already failed
		// for good above, so the job ends here too.
		return river.JobCancel(err)
	}
	return err
}

// bookkeep records an outcome even when the job's context is already done.
func (r *Runner) bookkeep(ctx context.Context, fn func(context.Context) error) {
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := fn(bctx); err != nil {
		r.log.Error("jobs: record step outcome", "err", err)
	}
}

func safeRun(ctx context.Context, fn StepFunc, sc *StepContext) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("step panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return fn(ctx, sc)
}

func (r *Runner) markRunning(ctx context.Context, a stepArgs, attempt int) (int64, error) {
	var runID int64
	err := r.db.Tx(ctx, func(tx *sql.Tx) error {
		now := time.Now().UTC()
		if _, err := tx.ExecContext(ctx, r.db.Rebind(`UPDATE workflow_steps SET state = ?, attempts = ?, started_at = COALESCE(started_at, ?), finished_at = NULL WHERE workflow_id = ? AND idx = ?`),
			StateRunning, attempt, now, a.WorkflowID, a.Index); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, r.db.Rebind(`UPDATE workflows SET state = ?, updated_at = ? WHERE id = ? AND state IN (?, ?)`),
			StateRunning, now, a.WorkflowID, StatePending, StateRunning); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, r.db.Rebind(`INSERT INTO workflow_step_runs(workflow_id, idx, attempt, started_at) VALUES (?, ?, ?, ?) RETURNING id`),
			a.WorkflowID, a.Index, attempt, now).Scan(&runID)
	})
	return runID, err
}

// commitSuccess is the one transaction that makes a step's work durable:
// its OnCommit writes, its succeeded state, the next step's job and the
// completion of this job commit together or not at all.
func (r *Runner) commitSuccess(ctx context.Context, job *river.Job[stepArgs], sc *StepContext, runID int64, nSteps int) error {
	a := job.Args
	return r.db.Tx(ctx, func(tx *sql.Tx) error {
		var state, stepState string
		var jobID sql.NullInt64
		// The row lock makes two executions of one step (a rescued step
		// whose node was alive after all) commit one after the other; the
		// second then sees the step succeeded and commits nothing. SQLite
		// write transactions are serial already (BEGIN IMMEDIATE).
		q := `SELECT w.state, s.state, s.job_id FROM workflows w JOIN workflow_steps s ON s.workflow_id = w.id WHERE w.id = ? AND s.idx = ?`
		if r.db.Dialect == store.Postgres {
			q += ` FOR UPDATE`
		}
		if err := tx.QueryRowContext(ctx, r.db.Rebind(q), a.WorkflowID, a.Index).Scan(&state, &stepState, &jobID); err != nil {
			return fmt.Errorf("jobs: commit step %s: %w", a.Name, err)
		}
		if state == StateCancelled {
			return errCancelled
		}
		if (jobID.Valid && jobID.Int64 != job.ID) || stepState == StateSucceeded {
			return errStale
		}
		for _, fn := range sc.onCommit {
			if err := fn(ctx, tx); err != nil {
				return fmt.Errorf("jobs: commit step %s: %w", a.Name, err)
			}
		}
		now := time.Now().UTC()
		var out any
		if sc.output != nil {
			out = string(sc.output)
		}
		sc.progressMu.Lock()
		done, total := sc.progressDone, sc.progressTotal
		sc.progressMu.Unlock()
		if total > 0 {
			done = total
		}
		if _, err := tx.ExecContext(ctx, r.db.Rebind(`UPDATE workflow_steps SET state = ?, error = '', finished_at = ?, output = ?, progress_done = ?, progress_total = ? WHERE workflow_id = ? AND idx = ?`),
			StateSucceeded, now, out, done, total, a.WorkflowID, a.Index); err != nil {
			return fmt.Errorf("jobs: commit step %s: %w", a.Name, err)
		}
		if _, err := tx.ExecContext(ctx, r.db.Rebind(`UPDATE workflow_step_runs SET finished_at = ?, outcome = 'succeeded' WHERE id = ?`), now, runID); err != nil {
			return fmt.Errorf("jobs: commit step %s: %w", a.Name, err)
		}
		next := StateRunning
		if a.Index+1 < nSteps {
			def, _ := r.Definition(sc.Kind)
			if err := r.insertStepTx(ctx, tx, a.WorkflowID, def, a.Index+1); err != nil {
				return fmt.Errorf("jobs: commit step %s: %w", a.Name, err)
			}
		} else {
			next = StateSucceeded
		}
		if _, err := tx.ExecContext(ctx, r.db.Rebind(`UPDATE workflows SET state = ?, updated_at = ? WHERE id = ?`), next, now, a.WorkflowID); err != nil {
			return fmt.Errorf("jobs: commit step %s: %w", a.Name, err)
		}
		if err := r.completeTx(ctx, tx, job); err != nil {
			return fmt.Errorf("jobs: commit step %s: complete job: %w", a.Name, err)
		}
		return nil
	})
}

// failTx marks a step and its workflow failed for good.
func (r *Runner) failTx(ctx context.Context, tx *sql.Tx, id int64, idx int, name string, cause error) error {
	now := time.Now().UTC()
	if _, err := tx.ExecContext(ctx, r.db.Rebind(`UPDATE workflow_steps SET state = ?, error = ?, finished_at = ? WHERE workflow_id = ? AND idx = ?`),
		StateFailed, cause.Error(), now, id, idx); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, r.db.Rebind(`UPDATE workflows SET state = ?, error = ?, updated_at = ? WHERE id = ? AND state <> ?`),
		StateFailed, fmt.Sprintf("step %s: %v", name, cause), now, id, StateCancelled)
	return err
}

// watchCancel notices a cancellation made by another process (the CLI while
// a server runs the step) by polling the workflow's state.
func (r *Runner) watchCancel(ctx context.Context, id int64, cancel context.CancelCauseFunc) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(max(r.opts.PollInterval, 500*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				var state string
				err := r.db.Read.QueryRowContext(ctx, r.db.Rebind(`SELECT state FROM workflows WHERE id = ?`), id).Scan(&state)
				if err == nil && state == StateCancelled {
					cancel(errCancelled)
					return
				}
			}
		}
	}()
	return func() { close(done) }
}

// Progress records how far the step is (for example frames decoded of
// total). Writes are throttled; the last value is stored when the step
// succeeds.
func (sc *StepContext) Progress(done, total int64) {
	sc.progressMu.Lock()
	sc.progressDone, sc.progressTotal = done, total
	due := time.Since(sc.progressAt) >= sc.runner.opts.ProgressEvery || (total > 0 && done >= total)
	if due {
		sc.progressAt = time.Now()
	}
	sc.progressMu.Unlock()
	if !due {
		return
	}
	r := sc.runner
	if _, err := r.db.Write.ExecContext(sc.ctx, r.db.Rebind(`UPDATE workflow_steps SET progress_done = ?, progress_total = ? WHERE workflow_id = ? AND idx = ?`),
		done, total, sc.WorkflowID, sc.index); err != nil && sc.ctx.Err() == nil {
		r.log.Warn("jobs: record progress", "workflow", sc.WorkflowID, "step", sc.Step, "err", err)
	}
}

// Log records a line in the step's log (shown by the console) and in the
// process log. args are slog-style key/value pairs.
func (sc *StepContext) Log(msg string, args ...any) {
	r := sc.runner
	attrs := map[string]any{}
	for i := 0; i < len(args); i++ {
		switch k := args[i].(type) {
		case slog.Attr:
			attrs[k.Key] = k.Value.Any()
		case string:
			if i+1 < len(args) {
				attrs[k] = args[i+1]
				i++
			} else {
				attrs["!BADKEY"] = k
			}
		default:
			attrs["!BADKEY"] = k
		}
	}
	b, err := json.Marshal(attrs)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"attrs": fmt.Sprint(attrs)})
	}
	r.log.Info(msg, append([]any{"workflow", sc.WorkflowID, "kind", sc.Kind, "step", sc.Step, "attempt", sc.Attempt}, args...)...)
	if _, err := r.db.Write.ExecContext(sc.ctx, r.db.Rebind(`INSERT INTO workflow_logs(workflow_id, idx, attempt, at, level, msg, attrs) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		sc.WorkflowID, sc.index, sc.Attempt, time.Now().UTC(), "info", msg, string(b)); err != nil && sc.ctx.Err() == nil {
		r.log.Warn("jobs: record step log", "workflow", sc.WorkflowID, "step", sc.Step, "err", err)
	}
}

// SetOutput stores v (as JSON) as this step's output when the step succeeds;
// later steps read it with Output.
func (sc *StepContext) SetOutput(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("jobs: step %s: output: %w", sc.Step, err)
	}
	sc.output = b
	return nil
}

// Output decodes the stored output of an earlier step of this workflow into v.
func (sc *StepContext) Output(step string, v any) error {
	r := sc.runner
	var out sql.NullString
	err := r.db.Read.QueryRowContext(sc.ctx, r.db.Rebind(`SELECT output FROM workflow_steps WHERE workflow_id = ? AND name = ? AND state = ?`),
		sc.WorkflowID, step, StateSucceeded).Scan(&out)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !out.Valid) {
		return fmt.Errorf("jobs: output of step %s of workflow %d: no stored output", step, sc.WorkflowID)
	}
	if err != nil {
		return fmt.Errorf("jobs: output of step %s of workflow %d: %w", step, sc.WorkflowID, err)
	}
	if err := json.Unmarshal([]byte(out.String), v); err != nil {
		return fmt.Errorf("jobs: output of step %s of workflow %d: %w", step, sc.WorkflowID, err)
	}
	return nil
}
