package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/vitrine-dev/vitrine/internal/jobs"
)

// WorkflowKind is the job-runner kind of catalog ingestion workflows.
const WorkflowKind = "catalog"

// WorkflowInput is the stored input of a catalog workflow.
type WorkflowInput struct {
	Batch int64 `json:"batch"`
	// Path is the CSV/JSONL file of a file batch.
	Path string `json:"path,omitempty"`
	// Blob is the blob key of the JSONL body of an API batch.
	Blob string `json:"blob,omitempty"`
}

// definition returns the "catalog" workflow: parse → fetch → embed →
// index → features, each stage idempotent and resumable (see the stage
// methods).
func definition(get func(context.Context) (*Ingester, error)) jobs.Definition {
	input := func(ctx context.Context, sc *jobs.StepContext) (*Ingester, WorkflowInput, error) {
		var wi WorkflowInput
		if err := json.Unmarshal(sc.Input, &wi); err != nil || wi.Batch == 0 {
			return nil, wi, fmt.Errorf("catalog: workflow %d: bad input %s", sc.WorkflowID, truncate(string(sc.Input), 100))
		}
		in, err := get(ctx)
		return in, wi, err
	}
	progress := func(sc *jobs.StepContext) ProgressFunc {
		return func(p Progress) { sc.Progress(p.Done, p.Total) }
	}
	return jobs.Definition{
		Kind: WorkflowKind,
		Steps: []jobs.Step{
			{Name: StageParse, MaxAttempts: 2, Run: func(ctx context.Context, sc *jobs.StepContext) error {
				in, wi, err := input(ctx, sc)
				if err != nil {
					return err
				}
				if wi.Blob != "" {
					r, err := in.Blobs.Get(ctx, wi.Blob)
					if err != nil {
						return fmt.Errorf("catalog: parse batch %d: %w", wi.Batch, err)
					}
					defer r.Close()
					p, err := NewParser(r, JSONL)
					if err != nil {
						return err
					}
					return in.parseRows(ctx, wi.Batch, p.Next, nil, apiImagesOnly)
				}
				return in.ParseFile(ctx, wi.Batch, wi.Path, progress(sc))
			}},
			{Name: StageFetch, Run: func(ctx context.Context, sc *jobs.StepContext) error {
				in, wi, err := input(ctx, sc)
				if err != nil {
					return err
				}
				return in.Fetch(ctx, wi.Batch, progress(sc))
			}},
			{Name: StageEmbed, Run: func(ctx context.Context, sc *jobs.StepContext) error {
				in, wi, err := input(ctx, sc)
				if err != nil {
					return err
				}
				return in.Embed(ctx, wi.Batch, progress(sc))
			}},
			{Name: StageIndex, Run: func(ctx context.Context, sc *jobs.StepContext) error {
				in, wi, err := input(ctx, sc)
				if err != nil {
					return err
				}
				if err := in.IndexBatch(ctx, wi.Batch, progress(sc)); err != nil {
					return err
				}
				s, err := in.finish(ctx, wi.Batch, nil)
				if err != nil {
					return err
				}
				return sc.SetOutput(s)
			}},
			// After the batch is finished and its products searchable.
			{Name: StageFeatures, Run: func(ctx context.Context, sc *jobs.StepContext) error {
				in, wi, err := input(ctx, sc)
				if err != nil {
					return err
				}
				return in.PrepareBatch(ctx, wi.Batch, progress(sc))
			}},
		},
	}
}

// EnqueueFile checks the file (format, readable, has an id column: the
// file-level errors) and starts a catalog workflow for it. It returns the
// batch and workflow ids.
func (in *Ingester) EnqueueFile(ctx context.Context, r *jobs.Runner, path string) (batch, workflow int64, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return 0, 0, fmt.Errorf("catalog: import %s: %w", path, err)
	}
	f, err := FormatOf(abs)
	if err != nil {
		return 0, 0, err
	}
	fh, err := os.Open(abs)
	if err != nil {
		return 0, 0, fmt.Errorf("catalog: import: %w", err)
	}
	_, err = NewParser(fh, f)
	fh.Close()
	if err != nil {
		return 0, 0, fmt.Errorf("catalog: import %s: %w", filepath.Base(abs), err)
	}
	if batch, err = in.NewBatch(ctx, abs, f); err != nil {
		return 0, 0, err
	}
	workflow, err = r.Enqueue(ctx, WorkflowKind, "batch:"+strconv.FormatInt(batch, 10), WorkflowInput{Batch: batch, Path: abs})
	if err != nil {
		_, _ = in.finish(ctx, batch, err)
		return 0, 0, err
	}
	return batch, workflow, nil
}

// EnqueueProducts stores products (REST bulk upsert) as a JSONL blob and
// starts a catalog workflow for them. Images must be http(s) URLs or
// "blob:" references to uploaded images.
func (in *Ingester) EnqueueProducts(ctx context.Context, r *jobs.Runner, ps []Product) (batch, workflow int64, err error) {
	if batch, err = in.NewBatch(ctx, "api", JSONL); err != nil {
		return 0, 0, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, p := range ps {
		if err := enc.Encode(p); err != nil {
			return 0, 0, fmt.Errorf("catalog: encode product: %w", err)
		}
	}
	key := "catalog/batches/" + strconv.FormatInt(batch, 10) + ".jsonl"
	if err := in.Blobs.Put(ctx, key, &buf, "application/x-ndjson"); err != nil {
		return 0, 0, fmt.Errorf("catalog: store batch %d: %w", batch, err)
	}
	workflow, err = r.Enqueue(ctx, WorkflowKind, "batch:"+strconv.FormatInt(batch, 10), WorkflowInput{Batch: batch, Blob: key})
	if err != nil {
		_, _ = in.finish(ctx, batch, err)
		return 0, 0, err
	}
	return batch, workflow, nil
}

// Wait follows a catalog workflow until it ends, reporting the progress of
// its running step, and returns the batch summary. A failed or cancelled
// workflow marks the batch failed and returns its error.
func (in *Ingester) Wait(ctx context.Context, r *jobs.Runner, batch, workflow int64, progress ProgressFunc) (Summary, error) {
	w, err := r.Wait(ctx, workflow, func(w *jobs.Workflow) {
		if progress == nil {
			return
		}
		for _, st := range w.Steps {
			if st.State == jobs.StateRunning || st.State == jobs.StateRetrying {
				progress(Progress{Step: st.Name, Done: st.Done, Total: st.Total})
			}
		}
	})
	if err != nil {
		return Summary{}, err
	}
	if w.State != jobs.StateSucceeded {
		msg := w.Error
		if msg == "" {
			msg = "workflow " + w.State
		}
		return in.finish(ctx, batch, errors.New(msg))
	}
	if progress != nil {
		progress(Progress{Step: StageIndex, Done: 1, Total: 1})
	}
	return in.Summary(ctx, batch)
}
