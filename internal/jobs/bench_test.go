package jobs

import (
	"context"
	"testing"
	"time"
)

// BenchmarkThreeStepWorkflow measures end-to-end workflow throughput on an
// SQLite file: enqueue, three no-op steps each committed with the next
// step's job, and completion.
func BenchmarkThreeStepWorkflow(b *testing.B) {
	def := Definition{Kind: "bench", Steps: []Step{{Name: "a", Run: noop}, {Name: "b", Run: noop}, {Name: "c", Run: noop}}}
	r, _ := newRunnerTB(b, Options{Workers: 2}, def)
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
