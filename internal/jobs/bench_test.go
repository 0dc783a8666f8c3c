package jobs

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/store/storetest"
)

// BenchmarkThreeStepWorkflow measures end-to-end workflow throughput on each
// backend: enqueue, three no-op steps each committed with the next step's
// job, and completion. On PostgreSQL, nodes=N runs N runners (as N worker
// processes would) of 2 workers each on the same database.
func BenchmarkThreeStepWorkflow(b *testing.B) {
	for _, o := range storetest.All() {
		for _, nodes := range []int{1, 2} {
			if o.Name == "sqlite" && nodes > 1 {
				continue // one process owns an SQLite database
			}
			b.Run(fmt.Sprintf("%s/nodes=%d", o.Name, nodes), func(b *testing.B) { benchWorkflow(b, o, nodes) })
		}
	}
}

func benchWorkflow(b *testing.B, o storetest.Opener, nodes int) {
	def := Definition{Kind: "bench", Steps: []Step{{Name: "a", Run: noop}, {Name: "b", Run: noop}, {Name: "c", Run: noop}}}
	r, db := newRunnerTB(b, o, Options{Workers: 2}, def)
	for range nodes - 1 {
		newNode(b, db.DSN, Options{Workers: 2}, def)
	}
	ctx := context.Background()
	b.ResetTimer()
	ids := make([]int64, 0, b.N)
	for range b.N {
		id, err := r.Enqueue(ctx, "bench", "s", nil)
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	for _, id := range ids {
		if w, err := r.Wait(wctx, id, nil); err != nil || w.State != StateSucceeded {
			b.Fatalf("workflow %d: %v %v", id, w, err)
		}
	}
	b.ReportMetric(float64(3*b.N)/b.Elapsed().Seconds(), "steps/s")
}
