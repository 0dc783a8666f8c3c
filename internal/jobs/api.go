// Package jobs runs durable, resumable workflows: ordered, named steps for one
// subject (a video, a catalog batch), each with a stored state, attempt count,
// error, timings and progress. Steps are executed as River jobs on the same
// database as the rest of vitrine (SQLite or PostgreSQL), so retries with
// backoff, cancellation and crash recovery come from the queue library.
//
// A step's DB writes registered with StepContext.OnCommit are committed in the
// same transaction that marks the step succeeded and enqueues the next step,
// so after a crash only unfinished steps run again.
package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"sync"
	"time"
)

// Step states, stored in workflow_steps.state.
const (
	StatePending   = "pending"
	StateRunning   = "running"
	StateSucceeded = "succeeded"
	StateFailed    = "failed"
	StateRetrying  = "retrying"
	StateCancelled = "cancelled"
)

// StepFunc performs one step. It must be idempotent: a step interrupted by a
// crash runs again from the start. Work that must be stored exactly once goes
// through sc.OnCommit. An error marked with Permanent (bad input that no
// retry can fix) fails the step and its workflow without further attempts.
type StepFunc func(ctx context.Context, sc *StepContext) error

// Step is one named stage of a workflow definition.
type Step struct {
	Name        string
	Run         StepFunc
	MaxAttempts int           // 0 means the runner's default
	Timeout     time.Duration // 0 means the runner's default
}

// Definition is an ordered list of steps registered under a workflow kind
// ("video", "catalog").
type Definition struct {
	Kind  string
	Steps []Step
}

// Workflow is the stored state of one workflow run.
type Workflow struct {
	ID        int64           `json:"id"`
	Kind      string          `json:"kind"`
	Subject   string          `json:"subject"`
	State     string          `json:"state"`
	Input     json.RawMessage `json:"input,omitempty"`
	Error     string          `json:"error,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
	Steps     []StepStatus    `json:"steps"`
}

// StepStatus is the stored state of one step of a workflow.
type StepStatus struct {
	Index      int        `json:"index"`
	Name       string     `json:"name"`
	State      string     `json:"state"`
	Attempts   int        `json:"attempts"`
	Error      string     `json:"error,omitempty"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Done       int64      `json:"progress_done"`
	Total      int64      `json:"progress_total"`
	// Output is what a succeeded step stored with SetOutput (JSON).
	Output json.RawMessage `json:"output,omitempty"`
}

// Terminal reports whether the workflow will not change any more by itself.
func (w *Workflow) Terminal() bool {
	return w.State == StateSucceeded || w.State == StateFailed || w.State == StateCancelled
}

// StepContext is what a running step sees of its workflow.
type StepContext struct {
	WorkflowID int64
	Kind       string
	Subject    string
	Step       string
	Attempt    int
	Input      json.RawMessage

	runner   *Runner
	ctx      context.Context
	index    int
	onCommit []func(ctx context.Context, tx *sql.Tx) error
	output   []byte

	progressMu    sync.Mutex
	progressDone  int64
	progressTotal int64
	progressAt    time.Time
}

// OnCommit registers fn to run inside the transaction that marks this step
// succeeded and enqueues the next one.
func (sc *StepContext) OnCommit(fn func(ctx context.Context, tx *sql.Tx) error) {
	sc.onCommit = append(sc.onCommit, fn)
}
