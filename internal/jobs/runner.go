package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/vitrine-dev/vitrine/internal/store"
)

// Errors returned (wrapped) by the Runner.
var (
	ErrNotFound    = errors.New("jobs: workflow not found")
	ErrUnknownKind = errors.New("jobs: unknown workflow kind")
	ErrConflict    = errors.New("jobs: workflow is not in a state that allows this")
)

// errCancelled is the cancellation cause of a step whose workflow was cancelled.
var errCancelled = errors.New("workflow cancelled")

// errStale marks a job superseded by a newer job for the same step (Retry).
var errStale = errors.New("step job superseded by a newer one")

// Options configure a Runner. Zero values take the defaults in brackets.
type Options struct {
	// Workers is how many steps run at once in this process; 0 makes an
	// insert-only runner (API nodes that never execute steps).
	Workers     int
	MaxAttempts int           // default attempts per step [5]
	RetryBase   time.Duration // first retry delay, doubling per attempt [1s]
	RetryMax    time.Duration // largest retry delay [5m]
	StepTimeout time.Duration // default limit of one attempt [2h]
	// Exclusive says this process owns the database alone (the embedded
	// default holds a lock on the data dir), so steps found running at Start
	// were orphaned by a dead process and are resumed at once.
	Exclusive bool
	// RescueAfter is when a step another node started counts as stuck, its
	// node presumed dead, and River's rescuer (on the elected leader, every
	// 30s) makes it available again (shared PostgreSQL only) [StepTimeout +
	// 1m]. River never rescues a step before the step's own timeout has
	// passed, when its node has given up on it, so a crashed node's step
	// runs again after max(RescueAfter, step timeout) plus up to 30s: keep
	// step timeouts tight in scale-out mode. Should a timed-out step still
	// finish, only one execution commits (commitSuccess locks the step row
	// and refuses a step that already succeeded).
	RescueAfter  time.Duration
	PollInterval time.Duration // queue poll interval [50ms]; only steps queued by another process wait for it (see Wake)
	// ProgressEvery throttles StepContext.Progress writes [1s].
	ProgressEvery time.Duration
	Logger        *slog.Logger
	// Metrics, when set, receives the step counters and duration histograms.
	Metrics prometheus.Registerer
}

func (o *Options) defaults() {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.RetryBase <= 0 {
		o.RetryBase = time.Second
	}
	if o.RetryMax < o.RetryBase {
		o.RetryMax = max(5*time.Minute, o.RetryBase)
	}
	if o.StepTimeout <= 0 {
		o.StepTimeout = 2 * time.Hour
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 50 * time.Millisecond
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Runner executes registered workflow definitions on the job queue.
type Runner struct {
	db     *store.DB
	opts   Options
	log    *slog.Logger
	driver riverdriver.Driver[*sql.Tx]
	// completeTx marks a River job completed inside tx; it is generic over
	// the concrete driver type, so it is chosen with the driver.
	completeTx func(ctx context.Context, tx *sql.Tx, job *river.Job[stepArgs]) error
	metrics    *metrics

	mu     sync.Mutex
	client *river.Client[*sql.Tx] // built by queue()
	// inserter queues steps inside transactions. It runs no jobs, so River
	// does not start a fetch at the insert, before the transaction commits,
	// that cannot see the step yet; Wake fetches after the commit instead.
	inserter  *river.Client[*sql.Tx]
	clientErr error
	defs      map[string]Definition
	running   map[int64]*running // workflow id → its running step
	started   bool
}

// running is a step executing in this process.
type running struct{ cancel context.CancelCauseFunc }

// pollingSQLite is River's SQLite driver without its emulated LISTEN: that
// polls a notification table every 50 ms, so a step queued by the previous
// one waited up to that long. Without a listener River fetches at once when
// a job is inserted outside a transaction in this process (see Wake), and
// polls otherwise, as it does on PostgreSQL through database/sql.
type pollingSQLite struct{ *riversqlite.Driver }

func (pollingSQLite) SupportsListener() bool { return false }

// stepArgs are the River job args of one workflow step.
type stepArgs struct {
	WorkflowID int64  `json:"workflow_id"`
	WFKind     string `json:"kind"`
	Index      int    `json:"step"`
	Name       string `json:"name"`
}

func (stepArgs) Kind() string { return "vitrine.step" }

// wakeArgs is an empty job inserted after a transaction that queued a step
// has committed. Both River drivers here poll: a job inserted inside a
// transaction is seen at the next poll, while a job inserted outside one
// makes this process's producer fetch at once, and that fetch finds the
// step. Without it every step of a workflow waits up to a poll interval
// after the previous one (about 0.2 to 0.5 s of a video workflow's run).
type wakeArgs struct{}

func (wakeArgs) Kind() string { return "vitrine.wake" }

// InsertOpts puts wake jobs behind every step (lowest priority) and never
// retries them.
func (wakeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Priority: 4, MaxAttempts: 1}
}

type wakeWorker struct{ river.WorkerDefaults[wakeArgs] }

func (wakeWorker) Work(context.Context, *river.Job[wakeArgs]) error { return nil }

// Wake makes this process's workers look for newly committed steps now
// rather than at the next poll. Call it after committing a transaction
// that used EnqueueTx; Enqueue, Retry and finished steps call it
// themselves. It does nothing in a process that runs no steps.
func (r *Runner) Wake(ctx context.Context) {
	r.mu.Lock()
	c, started := r.client, r.started
	r.mu.Unlock()
	if c == nil || !started || r.opts.Workers == 0 {
		return
	}
	if _, err := c.Insert(ctx, wakeArgs{}, nil); err != nil && ctx.Err() == nil {
		// Only latency is lost: the next poll finds the step.
		r.log.Debug("queue wake-up", "err", err)
	}
}

// New prepares a Runner on db, applying River's own schema migrations.
// Register definitions, then call Start.
func New(ctx context.Context, db *store.DB, opts Options) (*Runner, error) {
	opts.defaults()
	r := &Runner{
		db: db, opts: opts, log: opts.Logger,
		defs:    map[string]Definition{},
		running: map[int64]*running{},
		metrics: newMetrics(opts.Metrics),
	}
	// Both backends use database/sql, so steps see a *sql.Tx either way:
	// riversqlite on SQLite, riverdatabasesql (over pgx's stdlib) on
	// PostgreSQL. Neither listens here (see pollingSQLite): the queue polls,
	// and Wake fetches at once for steps queued in this process.
	switch db.Dialect {
	case store.SQLite:
		r.driver = pollingSQLite{riversqlite.New(db.Write)}
		r.completeTx = func(ctx context.Context, tx *sql.Tx, job *river.Job[stepArgs]) error {
			_, err := river.JobCompleteTx[*riversqlite.Driver](ctx, tx, job)
			return err
		}
	case store.Postgres:
		r.driver = riverdatabasesql.New(db.Write)
		r.completeTx = func(ctx context.Context, tx *sql.Tx, job *river.Job[stepArgs]) error {
			_, err := river.JobCompleteTx[*riverdatabasesql.Driver](ctx, tx, job)
			return err
		}
	default:
		return nil, fmt.Errorf("jobs: new runner: unsupported dialect %q", db.Dialect)
	}
	m, err := rivermigrate.New(r.driver, &rivermigrate.Config{Logger: quiet(opts.Logger)})
	if err != nil {
		return nil, fmt.Errorf("jobs: queue migrations: %w", err)
	}
	// Nodes starting together take turns; the second finds nothing to do.
	err = db.WithLock(ctx, "river-migrate", func() error {
		_, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: queue migrations: %w", err)
	}
	return r, nil
}

// queue returns the River client, creating it on first use, once all
// definitions are in (Register refuses afterwards).
func (r *Runner) queue() (*river.Client[*sql.Tx], error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client != nil || r.clientErr != nil {
		return r.client, r.clientErr
	}
	opts := r.opts
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &stepWorker{r: r}); err != nil {
		r.clientErr = fmt.Errorf("jobs: add worker: %w", err)
		return nil, r.clientErr
	}
	if err := river.AddWorkerSafely(workers, wakeWorker{}); err != nil {
		r.clientErr = fmt.Errorf("jobs: add worker: %w", err)
		return nil, r.clientErr
	}
	cfg := &river.Config{
		Logger:      quiet(opts.Logger),
		Workers:     workers,
		MaxAttempts: opts.MaxAttempts,
		// stepWorker.Timeout sets every job's limit; River only insists
		// that its default not exceed the rescue horizon.
		JobTimeout:           min(opts.StepTimeout, rescueAfter(opts.RescueAfter, opts.StepTimeout)),
		RescueStuckJobsAfter: rescueAfter(opts.RescueAfter, opts.StepTimeout),
		RetryPolicy:          &backoff{base: opts.RetryBase, max: opts.RetryMax},
		FetchPollInterval:    opts.PollInterval,
		// Fetches come on a poll, a wake-up (see wakeArgs) or a freed
		// worker slot; a long cooldown would delay the next step by that much.
		FetchCooldown: time.Millisecond,
		// Finished River rows are only queue bookkeeping: the workflow tables
		// keep the history.
		CompletedJobRetentionPeriod: 24 * time.Hour,
	}
	if opts.Workers > 0 {
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: opts.Workers}}
	}
	c, err := river.NewClient[*sql.Tx](r.driver, cfg)
	if err != nil {
		r.clientErr = fmt.Errorf("jobs: new queue client: %w", err)
		return nil, r.clientErr
	}
	ins, err := river.NewClient[*sql.Tx](r.driver, &river.Config{Logger: cfg.Logger, MaxAttempts: cfg.MaxAttempts})
	if err != nil {
		r.clientErr = fmt.Errorf("jobs: new queue client: %w", err)
		return nil, r.clientErr
	}
	r.client, r.inserter = c, ins
	return c, nil
}

// rescueAfter is the stuck-job horizon: the configured one, or the default
// step timeout plus a minute.
func rescueAfter(configured, stepTimeout time.Duration) time.Duration {
	if configured > 0 {
		return max(configured, time.Second)
	}
	return stepTimeout + time.Minute
}

// quiet keeps River's own lifecycle chatter out of the info log.
func quiet(l *slog.Logger) *slog.Logger {
	return slog.New(levelFilter{h: l.Handler(), min: slog.LevelWarn}).With("component", "river")
}

type levelFilter struct {
	h   slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.h.Enabled(ctx, l)
}
func (f levelFilter) Handle(ctx context.Context, r slog.Record) error { return f.h.Handle(ctx, r) }
func (f levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFilter{h: f.h.WithAttrs(a), min: f.min}
}
func (f levelFilter) WithGroup(n string) slog.Handler {
	return levelFilter{h: f.h.WithGroup(n), min: f.min}
}

// Register adds a workflow definition. Call it before Start.
func (r *Runner) Register(def Definition) error {
	if def.Kind == "" || len(def.Steps) == 0 {
		return fmt.Errorf("jobs: register %q: a definition needs a kind and at least one step", def.Kind)
	}
	seen := map[string]bool{}
	for i, s := range def.Steps {
		if s.Name == "" || s.Run == nil {
			return fmt.Errorf("jobs: register %q: step %d needs a name and a Run func", def.Kind, i)
		}
		if seen[s.Name] {
			return fmt.Errorf("jobs: register %q: duplicate step %q", def.Kind, s.Name)
		}
		seen[s.Name] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client != nil {
		return fmt.Errorf("jobs: register %q: the runner is already in use; register before Start and Enqueue", def.Kind)
	}
	if _, dup := r.defs[def.Kind]; dup {
		return fmt.Errorf("jobs: register %q: kind already registered", def.Kind)
	}
	r.defs[def.Kind] = def
	return nil
}

// Definition returns the registered definition of kind.
func (r *Runner) Definition(kind string) (Definition, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.defs[kind]
	return d, ok
}

// Start begins executing steps (when Options.Workers > 0). With
// Options.Exclusive it first resumes steps orphaned by a dead process.
func (r *Runner) Start(ctx context.Context) error {
	client, err := r.queue()
	if err != nil {
		return err
	}
	if r.opts.Exclusive {
		if err := r.resumeOrphans(ctx); err != nil {
			return err
		}
	}
	if r.opts.Workers > 0 {
		if err := client.Start(ctx); err != nil {
			return fmt.Errorf("jobs: start queue: %w", err)
		}
	}
	r.mu.Lock()
	r.started = true
	r.mu.Unlock()
	return nil
}

// Started reports whether Start succeeded and Stop has not been called.
func (r *Runner) Started() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.started
}

// Stop waits for running steps to finish until ctx is done, then cancels them;
// cancelled steps run again at the next start.
func (r *Runner) Stop(ctx context.Context) error {
	r.mu.Lock()
	was := r.started
	r.started = false
	r.mu.Unlock()
	if !was || r.opts.Workers == 0 {
		return nil
	}
	err := r.client.Stop(ctx)
	if err != nil && ctx.Err() != nil {
		// Soft stop ran out of time: cancel the work and wait a little more.
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = r.client.StopAndCancel(cctx)
	}
	if err != nil {
		return fmt.Errorf("jobs: stop queue: %w", err)
	}
	return nil
}

// resumeOrphans makes steps left running by a killed process available again
// (or failed when they have no attempts left). Only safe when this process
// owns the database alone.
func (r *Runner) resumeOrphans(ctx context.Context) error {
	exec := r.driver.GetExecutor()
	now := time.Now().UTC()
	stuck, err := exec.JobGetStuck(ctx, &riverdriver.JobGetStuckParams{Max: 10000, StuckHorizon: now.Add(time.Minute)})
	if err != nil {
		return fmt.Errorf("jobs: find orphaned steps: %w", err)
	}
	if len(stuck) == 0 {
		return nil
	}
	p := &riverdriver.JobRescueManyParams{StuckHorizon: now.Add(time.Minute)}
	var dead []stepArgs // out of attempts: failed for good
	for _, j := range stuck {
		msg := "process stopped while the step was running"
		e, _ := json.Marshal(rivertype.AttemptError{At: now, Attempt: j.Attempt, Error: msg})
		p.ID = append(p.ID, j.ID)
		p.Error = append(p.Error, e)
		p.ScheduledAt = append(p.ScheduledAt, now)
		if j.Attempt >= j.MaxAttempts {
			p.State = append(p.State, string(rivertype.JobStateDiscarded))
			p.FinalizedAt = append(p.FinalizedAt, &now)
			var a stepArgs
			if j.Kind == a.Kind() && json.Unmarshal(j.EncodedArgs, &a) == nil {
				dead = append(dead, a) // a wake job has no step to fail
			}
		} else {
			p.State = append(p.State, string(rivertype.JobStateAvailable))
			p.FinalizedAt = append(p.FinalizedAt, nil)
		}
	}
	if _, err := exec.JobRescueMany(ctx, p); err != nil {
		return fmt.Errorf("jobs: resume orphaned steps: %w", err)
	}
	err = r.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, r.db.Rebind(`UPDATE workflow_step_runs SET outcome = 'interrupted' WHERE finished_at IS NULL AND outcome = ''`)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, r.db.Rebind(`UPDATE workflow_steps SET state = ? WHERE state = ?`), StateRetrying, StateRunning); err != nil {
			return err
		}
		for _, d := range dead {
			if err := r.failTx(ctx, tx, d.WorkflowID, d.Index, d.Name, errors.New("interrupted on its last attempt")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("jobs: resume orphaned steps: %w", err)
	}
	r.log.Info("resumed orphaned workflow steps", "count", len(stuck), "failed", len(dead))
	return nil
}

// backoff is exponential: base, 2·base, 4·base … capped at max, plus up to
// 10% jitter so that many failing steps do not retry in lockstep.
type backoff struct{ base, max time.Duration }

func (b *backoff) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(b.delay(job.Attempt))
}

func (b *backoff) delay(attempt int) time.Duration {
	d := b.base
	for i := 1; i < attempt && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	return d + time.Duration(rand.Int64N(int64(d)/10+1))
}

// Enqueue starts a workflow of kind for subject with input (marshalled to
// JSON unless it is already a json.RawMessage or []byte) and returns its id.
func (r *Runner) Enqueue(ctx context.Context, kind, subject string, input any) (int64, error) {
	var id int64
	err := r.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = r.EnqueueTx(ctx, tx, kind, subject, input)
		return err
	})
	if err == nil {
		r.Wake(ctx)
	}
	return id, err
}

// EnqueueTx is Enqueue inside the caller's transaction: the workflow exists
// only if tx commits.
func (r *Runner) EnqueueTx(ctx context.Context, tx *sql.Tx, kind, subject string, input any) (int64, error) {
	def, ok := r.Definition(kind)
	if !ok {
		return 0, fmt.Errorf("jobs: enqueue %q: %w", kind, ErrUnknownKind)
	}
	in, err := marshalInput(input)
	if err != nil {
		return 0, fmt.Errorf("jobs: enqueue %q: input: %w", kind, err)
	}
	now := time.Now().UTC()
	var id int64
	err = tx.QueryRowContext(ctx, r.db.Rebind(`INSERT INTO workflows(kind, subject, state, input, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
		kind, subject, StatePending, string(in), now, now).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("jobs: enqueue %q: %w", kind, err)
	}
	for i, s := range def.Steps {
		if _, err := tx.ExecContext(ctx, r.db.Rebind(`INSERT INTO workflow_steps(workflow_id, idx, name, state) VALUES (?, ?, ?, ?)`),
			id, i, s.Name, StatePending); err != nil {
			return 0, fmt.Errorf("jobs: enqueue %q: %w", kind, err)
		}
	}
	if err := r.insertStepTx(ctx, tx, id, def, 0); err != nil {
		return 0, fmt.Errorf("jobs: enqueue %q: %w", kind, err)
	}
	return id, nil
}

func marshalInput(input any) ([]byte, error) {
	switch v := input.(type) {
	case nil:
		return []byte("{}"), nil
	case json.RawMessage:
		if !json.Valid(v) {
			return nil, errors.New("not valid JSON")
		}
		return v, nil
	case []byte:
		if !json.Valid(v) {
			return nil, errors.New("not valid JSON")
		}
		return v, nil
	}
	return json.Marshal(input)
}

// insertStepTx queues step idx of workflow id and records its job id.
func (r *Runner) insertStepTx(ctx context.Context, tx *sql.Tx, id int64, def Definition, idx int) error {
	s := def.Steps[idx]
	opts := &river.InsertOpts{MaxAttempts: r.opts.MaxAttempts}
	if s.MaxAttempts > 0 {
		opts.MaxAttempts = s.MaxAttempts
	}
	if _, err := r.queue(); err != nil {
		return err
	}
	res, err := r.inserter.InsertTx(ctx, tx, stepArgs{WorkflowID: id, WFKind: def.Kind, Index: idx, Name: s.Name}, opts)
	if err != nil {
		return fmt.Errorf("queue step %s: %w", s.Name, err)
	}
	_, err = tx.ExecContext(ctx, r.db.Rebind(`UPDATE workflow_steps SET job_id = ? WHERE workflow_id = ? AND idx = ?`), res.Job.ID, id, idx)
	return err
}

// Cancel stops workflow id: pending steps will not run and a running step
// sees its context cancelled. Cancelling a finished workflow is a conflict.
func (r *Runner) Cancel(ctx context.Context, id int64) error {
	client, err := r.queue()
	if err != nil {
		return err
	}
	var jobIDs []int64
	err = r.db.Tx(ctx, func(tx *sql.Tx) error {
		var state string
		err := tx.QueryRowContext(ctx, r.db.Rebind(`SELECT state FROM workflows WHERE id = ?`), id).Scan(&state)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if state == StateSucceeded || state == StateFailed || state == StateCancelled {
			return fmt.Errorf("%w (it is %s)", ErrConflict, state)
		}
		rows, err := tx.QueryContext(ctx, r.db.Rebind(`SELECT job_id FROM workflow_steps WHERE workflow_id = ? AND job_id IS NOT NULL AND state NOT IN (?, ?, ?)`),
			id, StateSucceeded, StateFailed, StateCancelled)
		if err != nil {
			return err
		}
		for rows.Next() {
			var j int64
			if err := rows.Scan(&j); err != nil {
				rows.Close()
				return err
			}
			jobIDs = append(jobIDs, j)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		now := time.Now().UTC()
		if _, err := tx.ExecContext(ctx, r.db.Rebind(`UPDATE workflow_steps SET state = ?, finished_at = COALESCE(finished_at, ?) WHERE workflow_id = ? AND state NOT IN (?, ?)`),
			StateCancelled, now, id, StateSucceeded, StateFailed); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, r.db.Rebind(`UPDATE workflows SET state = ?, updated_at = ? WHERE id = ?`), StateCancelled, now, id); err != nil {
			return err
		}
		for _, j := range jobIDs {
			if _, err := client.JobCancelTx(ctx, tx, j); err != nil && !errors.Is(err, river.ErrNotFound) {
				return fmt.Errorf("cancel job %d: %w", j, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("jobs: cancel workflow %d: %w", id, err)
	}
	r.mu.Lock()
	if rs := r.running[id]; rs != nil {
		rs.cancel(errCancelled)
	}
	r.mu.Unlock()
	return nil
}

// Retry re-runs a failed or cancelled workflow from its first unfinished
// step; finished steps are kept.
func (r *Runner) Retry(ctx context.Context, id int64) error {
	err := r.db.Tx(ctx, func(tx *sql.Tx) error {
		var kind, state string
		err := tx.QueryRowContext(ctx, r.db.Rebind(`SELECT kind, state FROM workflows WHERE id = ?`), id).Scan(&kind, &state)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if state != StateFailed && state != StateCancelled {
			return fmt.Errorf("%w (it is %s; only failed or cancelled workflows can be retried)", ErrConflict, state)
		}
		def, ok := r.Definition(kind)
		if !ok {
			return fmt.Errorf("%w %q", ErrUnknownKind, kind)
		}
		var idx int
		err = tx.QueryRowContext(ctx, r.db.Rebind(`SELECT MIN(idx) FROM workflow_steps WHERE workflow_id = ? AND state <> ?`), id, StateSucceeded).Scan(&idx)
		if err != nil {
			return err
		}
		if idx >= len(def.Steps) {
			return fmt.Errorf("%w (step %d is beyond the definition)", ErrConflict, idx)
		}
		now := time.Now().UTC()
		if _, err := tx.ExecContext(ctx, r.db.Rebind(`UPDATE workflow_steps SET state = ?, attempts = 0, error = '', started_at = NULL, finished_at = NULL, job_id = NULL WHERE workflow_id = ? AND idx >= ?`),
			StatePending, id, idx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, r.db.Rebind(`UPDATE workflows SET state = ?, error = '', updated_at = ? WHERE id = ?`), StatePending, now, id); err != nil {
			return err
		}
		return r.insertStepTx(ctx, tx, id, def, idx)
	})
	if err != nil {
		return fmt.Errorf("jobs: retry workflow %d: %w", id, err)
	}
	r.Wake(ctx)
	return nil
}

// Wait calls fn (when not nil) with the workflow each time it changes and
// returns it once it is terminal or ctx is done.
func (r *Runner) Wait(ctx context.Context, id int64, fn func(*Workflow)) (*Workflow, error) {
	var last []byte
	t := time.NewTicker(r.opts.PollInterval)
	defer t.Stop()
	for {
		w, err := r.Workflow(ctx, id)
		if err != nil {
			return nil, err
		}
		if b, _ := json.Marshal(w); fn != nil && string(b) != string(last) {
			fn(w)
			last = b
		}
		if w.Terminal() {
			return w, nil
		}
		select {
		case <-ctx.Done():
			return w, fmt.Errorf("jobs: wait for workflow %d: %w", id, ctx.Err())
		case <-t.C:
		}
	}
}
