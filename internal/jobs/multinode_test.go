package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/store"
	"github.com/vitrine-dev/vitrine/internal/store/storetest"
)

// TestRescuedStepCommitsOnce runs two nodes on one PostgreSQL database. Node
// A starts a step and hangs in it past its timeout (as a node that lost its
// network would); River's rescuer hands the step to node B. When A wakes up
// and finishes too, its commit is refused: the step's output and the next
// step are recorded exactly once, and workflow_step_runs shows both runs.
func TestRescuedStepCommitsOnce(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	ctx := context.Background()
	release := make(chan struct{})
	started := make(chan string, 4)
	var nextRuns atomic.Int32
	def := func(node string, db **store.DB) Definition {
		return Definition{Kind: "rescue", Steps: []Step{
			{Name: "first", Timeout: 2 * time.Second, Run: func(ctx context.Context, sc *StepContext) error {
				started <- node
				if node == "a" {
					<-release // ignores ctx: a node that is not listening any more
				}
				sc.OnCommit(func(ctx context.Context, tx *sql.Tx) error {
					_, err := tx.ExecContext(ctx, (*db).Rebind(`INSERT INTO settings(key, value) VALUES (?, ?)`), fmt.Sprint("first-", sc.WorkflowID), node)
					return err
				})
				return sc.SetOutput(node)
			}},
			{Name: "second", Run: func(context.Context, *StepContext) error { nextRuns.Add(1); return nil }},
		}}
	}
	opts := Options{Workers: 1, RescueAfter: time.Second, StepTimeout: time.Minute}
	var dbA, dbB *store.DB
	a := newNode(t, dsn, opts, def("a", &dbA))
	dbA = a.db
	id, err := a.Enqueue(ctx, "rescue", "s", nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := <-started; n != "a" {
		t.Fatalf("first run on node %s, want a", n)
	}
	b := newNode(t, dsn, opts, def("b", &dbB))
	dbB = b.db
	// The rescuer runs on the elected leader every 30s (River's interval).
	select {
	case n := <-started:
		if n != "b" {
			t.Fatalf("rescued run on node %s, want b", n)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("the hung step was not rescued within 90s")
	}
	w := wait(t, b, id)
	if w.State != StateSucceeded {
		t.Fatalf("workflow %s: %s", w.State, w.Error)
	}
	close(release)
	// A's late commit must be refused: superseded, or failed when its
	// context expired at the timeout before it could even begin.
	deadline := time.Now().Add(30 * time.Second)
	var outcomes string
	for time.Now().Before(deadline) {
		outcomes = ""
		rows, err := dbB.Read.QueryContext(ctx, `SELECT outcome FROM workflow_step_runs WHERE workflow_id = $1 AND idx = 0 ORDER BY outcome`, id)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var o string
			rows.Scan(&o)
			outcomes += o + ","
		}
		rows.Close()
		if outcomes == "failed,succeeded," || outcomes == "succeeded,superseded," {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if outcomes != "failed,succeeded," && outcomes != "succeeded,superseded," {
		t.Errorf("runs of the first step: %q, want one succeeded and one refused", outcomes)
	}
	var who string
	var n int
	dbB.Read.QueryRowContext(ctx, `SELECT COUNT(*), MIN(value) FROM settings WHERE key = $1`, fmt.Sprint("first-", id)).Scan(&n, &who)
	var out string
	dbB.Read.QueryRowContext(ctx, `SELECT output FROM workflow_steps WHERE workflow_id = $1 AND idx = 0`, id).Scan(&out)
	if n != 1 || who != "b" || out != `"b"` || nextRuns.Load() != 1 {
		t.Errorf("first step committed %d times (by %q, output %s), second ran %d times; want once each, by b", n, who, out, nextRuns.Load())
	}
}
