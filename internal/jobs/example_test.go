package jobs_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/store"
)

// A two-step workflow: the first step passes its output to the second,
// which stores a row in the same transaction that marks it succeeded.
func ExampleRunner() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "jobs-example-")
	defer os.RemoveAll(dir)
	db, err := store.Open(ctx, filepath.Join(dir, "vitrine.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()

	r, err := jobs.New(ctx, db, jobs.Options{Workers: 1, PollInterval: 20 * time.Millisecond, Exclusive: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = r.Register(jobs.Definition{Kind: "greet", Steps: []jobs.Step{
		{Name: "compose", Run: func(ctx context.Context, sc *jobs.StepContext) error {
			return sc.SetOutput("hello, " + sc.Subject)
		}},
		{Name: "store", Run: func(ctx context.Context, sc *jobs.StepContext) error {
			var msg string
			if err := sc.Output("compose", &msg); err != nil {
				return err
			}
			sc.OnCommit(func(ctx context.Context, tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO settings(key, value) VALUES ('greeting', ?)`, msg)
				return err
			})
			return nil
		}},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := r.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer r.Stop(ctx)

	id, err := r.Enqueue(ctx, "greet", "world", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	w, err := r.Wait(ctx, id, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	var greeting string
	db.Read.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'greeting'`).Scan(&greeting)
	fmt.Println(w.State, greeting)
	// Output: succeeded hello, world
}
