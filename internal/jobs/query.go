package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Workflow returns the stored state of workflow id with its steps.
func (r *Runner) Workflow(ctx context.Context, id int64) (*Workflow, error) {
	w := &Workflow{}
	var input string
	err := r.db.Read.QueryRowContext(ctx, r.db.Rebind(`SELECT id, kind, subject, state, input, error, created_at, updated_at FROM workflows WHERE id = ?`), id).
		Scan(&w.ID, &w.Kind, &w.Subject, &w.State, &input, &w.Error, &w.CreatedAt, &w.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("jobs: workflow %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: workflow %d: %w", id, err)
	}
	w.Input = []byte(input)
	if w.Steps, err = r.steps(ctx, id); err != nil {
		return nil, err
	}
	return w, nil
}

func (r *Runner) steps(ctx context.Context, id int64) ([]StepStatus, error) {
	by, err := r.stepsOf(ctx, []int64{id}, true)
	if err != nil {
		return nil, fmt.Errorf("jobs: steps of workflow %d: %w", id, err)
	}
	return by[id], nil
}

// stepsOf returns the steps of the workflows ids, by workflow, in one
// query; without outputs unless asked (a decode step's output lists every
// frame's time, hundreds of kilobytes for a long video).
func (r *Runner) stepsOf(ctx context.Context, ids []int64, outputs bool) (map[int64][]StepStatus, error) {
	out := map[int64][]StepStatus{}
	if len(ids) == 0 {
		return out, nil
	}
	col := "NULL"
	if outputs {
		col = "output"
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := r.db.Read.QueryContext(ctx, r.db.Rebind(`SELECT workflow_id, idx, name, state, attempts, error, started_at, finished_at, progress_done, progress_total, `+col+`
		FROM workflow_steps WHERE workflow_id IN (?`+strings.Repeat(", ?", len(ids)-1)+`) ORDER BY workflow_id, idx`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var wf int64
		var s StepStatus
		var started, finished sql.NullTime
		var output sql.NullString
		if err := rows.Scan(&wf, &s.Index, &s.Name, &s.State, &s.Attempts, &s.Error, &started, &finished, &s.Done, &s.Total, &output); err != nil {
			return nil, err
		}
		if started.Valid {
			s.StartedAt = &started.Time
		}
		if finished.Valid {
			s.FinishedAt = &finished.Time
		}
		if output.Valid && json.Valid([]byte(output.String)) {
			s.Output = json.RawMessage(output.String)
		}
		out[wf] = append(out[wf], s)
	}
	return out, rows.Err()
}

// ListParams filter List. Empty fields match everything.
type ListParams struct {
	Kind, Subject, State string
	// BeforeID pages backwards: only workflows with a smaller id.
	BeforeID int64
	Limit    int // default 50, at most 500
	// Outputs includes the steps' outputs, which Workflow always has.
	Outputs bool
}

// List returns workflows newest first, with their steps (without their
// outputs unless p.Outputs).
func (r *Runner) List(ctx context.Context, p ListParams) ([]*Workflow, error) {
	var where []string
	var args []any
	for _, f := range []struct {
		col string
		v   string
	}{{"kind", p.Kind}, {"subject", p.Subject}, {"state", p.State}} {
		if f.v != "" {
			where = append(where, f.col+" = ?")
			args = append(args, f.v)
		}
	}
	if p.BeforeID > 0 {
		where = append(where, "id < ?")
		args = append(args, p.BeforeID)
	}
	if p.Limit <= 0 {
		p.Limit = 50
	}
	p.Limit = min(p.Limit, 500)
	q := `SELECT id, kind, subject, state, input, error, created_at, updated_at FROM workflows`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT %d`, p.Limit)
	rows, err := r.db.Read.QueryContext(ctx, r.db.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("jobs: list workflows: %w", err)
	}
	var out []*Workflow
	var ids []int64
	for rows.Next() {
		w := &Workflow{}
		var input string
		if err := rows.Scan(&w.ID, &w.Kind, &w.Subject, &w.State, &input, &w.Error, &w.CreatedAt, &w.UpdatedAt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("jobs: list workflows: %w", err)
		}
		w.Input = []byte(input)
		out = append(out, w)
		ids = append(ids, w.ID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("jobs: list workflows: %w", err)
	}
	steps, err := r.stepsOf(ctx, ids, p.Outputs)
	if err != nil {
		return nil, fmt.Errorf("jobs: list workflows: %w", err)
	}
	for _, w := range out {
		w.Steps = steps[w.ID]
	}
	return out, nil
}

// StepRun is one execution of a step.
type StepRun struct {
	Index      int        `json:"index"`
	Attempt    int        `json:"attempt"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// Outcome is succeeded, failed, cancelled, interrupted, or empty while running.
	Outcome string `json:"outcome"`
}

// StepRuns lists every execution of the workflow's steps in order.
func (r *Runner) StepRuns(ctx context.Context, id int64) ([]StepRun, error) {
	rows, err := r.db.Read.QueryContext(ctx, r.db.Rebind(`SELECT idx, attempt, started_at, finished_at, outcome FROM workflow_step_runs WHERE workflow_id = ? ORDER BY id`), id)
	if err != nil {
		return nil, fmt.Errorf("jobs: step runs of workflow %d: %w", id, err)
	}
	defer rows.Close()
	var out []StepRun
	for rows.Next() {
		var s StepRun
		var fin sql.NullTime
		if err := rows.Scan(&s.Index, &s.Attempt, &s.StartedAt, &fin, &s.Outcome); err != nil {
			return nil, fmt.Errorf("jobs: step runs of workflow %d: %w", id, err)
		}
		if fin.Valid {
			s.FinishedAt = &fin.Time
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// LogLine is one line of a step's log.
type LogLine struct {
	ID      int64          `json:"id"`
	Step    int            `json:"step"`
	Attempt int            `json:"attempt"`
	At      time.Time      `json:"at"`
	Level   string         `json:"level"`
	Msg     string         `json:"msg"`
	Attrs   map[string]any `json:"attrs,omitempty"`
}

// Logs returns the workflow's log lines with ids above afterID, oldest first.
func (r *Runner) Logs(ctx context.Context, id, afterID int64, limit int) ([]LogLine, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	rows, err := r.db.Read.QueryContext(ctx, r.db.Rebind(fmt.Sprintf(`SELECT id, idx, attempt, at, level, msg, attrs FROM workflow_logs WHERE workflow_id = ? AND id > ? ORDER BY id LIMIT %d`, limit)), id, afterID)
	if err != nil {
		return nil, fmt.Errorf("jobs: logs of workflow %d: %w", id, err)
	}
	defer rows.Close()
	var out []LogLine
	for rows.Next() {
		var l LogLine
		var attrs string
		if err := rows.Scan(&l.ID, &l.Step, &l.Attempt, &l.At, &l.Level, &l.Msg, &attrs); err != nil {
			return nil, fmt.Errorf("jobs: logs of workflow %d: %w", id, err)
		}
		// Attributes are written by StepContext.Log as JSON; a bad row only loses them.
		_ = json.Unmarshal([]byte(attrs), &l.Attrs)
		out = append(out, l)
	}
	return out, rows.Err()
}
