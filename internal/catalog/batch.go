package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Stage names of the catalog ingestion workflow, in order.
const (
	StageParse = "parse"
	StageFetch = "fetch"
	StageEmbed = "embed"
	StageIndex = "index"
	// StageFeatures runs after the products are ready and searchable: it
	// precomputes what video matching derives from product images (local
	// features for verification, see Ingester.Prepare), so the first video
	// after an import does not pay for it.
	StageFeatures = "features"
)

// ImportFile runs every stage of a new batch for the CSV/JSONL file at path
// and returns its summary. A file-level error (unreadable, unknown format,
// no id column) is returned as an error and the batch is marked failed;
// row errors are in the summary.
func (in *Ingester) ImportFile(ctx context.Context, path string, progress ProgressFunc) (Summary, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Summary{}, fmt.Errorf("catalog: import %s: %w", path, err)
	}
	f, err := FormatOf(abs)
	if err != nil {
		return Summary{}, err
	}
	batch, err := in.NewBatch(ctx, abs, f)
	if err != nil {
		return Summary{}, err
	}
	err = in.RunStages(ctx, batch, func(ctx context.Context) error { return in.ParseFile(ctx, batch, abs, progress) }, progress)
	return in.finish(ctx, batch, err)
}

// ImportProducts runs every stage of a new batch for products given
// directly (REST bulk upsert).
func (in *Ingester) ImportProducts(ctx context.Context, ps []Product, progress ProgressFunc) (Summary, error) {
	batch, err := in.NewBatch(ctx, "api", "json")
	if err != nil {
		return Summary{}, err
	}
	err = in.RunStages(ctx, batch, func(ctx context.Context) error { return in.ParseProducts(ctx, batch, ps) }, progress)
	return in.finish(ctx, batch, err)
}

// RunStages runs parse (given) then Fetch, Embed and IndexBatch in this
// process, in order.
func (in *Ingester) RunStages(ctx context.Context, batch int64, parse func(context.Context) error, progress ProgressFunc) error {
	if err := parse(ctx); err != nil {
		return err
	}
	if err := in.Fetch(ctx, batch, progress); err != nil {
		return err
	}
	if err := in.Embed(ctx, batch, progress); err != nil {
		return err
	}
	if err := in.IndexBatch(ctx, batch, progress); err != nil {
		return err
	}
	return in.PrepareBatch(ctx, batch, progress)
}

// batchProducts is the FROM and WHERE of a query over the products a
// batch put in the catalog (p), by their batch rows (r); it takes the
// batch id.
const batchProducts = `catalog_batch_rows r JOIN products p ON p.id = r.product_id
	WHERE r.batch_id = ? AND r.status IN ('added', 'updated', 'unchanged')`

// PrepareBatch hands the batch's ready products to Prepare, when set.
func (in *Ingester) PrepareBatch(ctx context.Context, batch int64, progress ProgressFunc) error {
	if in.Prepare == nil {
		return nil
	}
	db := in.Store.db
	rows, err := db.Read.QueryContext(ctx, db.Rebind(`SELECT p.id FROM `+batchProducts+` AND p.status = 'ready' ORDER BY p.seq`), batch)
	if err != nil {
		return fmt.Errorf("catalog: prepare batch %d: %w", batch, err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("catalog: prepare batch %d: %w", batch, err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("catalog: prepare batch %d: %w", batch, err)
	}
	var report func(done, total int64)
	if progress != nil {
		report = func(done, total int64) { progress(Progress{Step: StageFeatures, Done: done, Total: total}) }
	}
	if err := in.Prepare(ctx, ids, report); err != nil {
		return fmt.Errorf("catalog: prepare batch %d: %w", batch, err)
	}
	return nil
}

func (in *Ingester) finish(ctx context.Context, batch int64, runErr error) (Summary, error) {
	state, msg := "succeeded", ""
	if runErr != nil {
		state, msg = "failed", runErr.Error()
	}
	db := in.Store.db
	if _, err := db.Write.ExecContext(ctx, db.Rebind(`UPDATE catalog_batches SET state = ?, error = ?, finished_at = ? WHERE id = ?`),
		state, msg, time.Now().UTC(), batch); err != nil && runErr == nil {
		runErr = fmt.Errorf("catalog: finish batch: %w", err)
	}
	s, err := in.Summary(ctx, batch)
	if err != nil && runErr == nil {
		runErr = err
	}
	return s, runErr
}

// ErrBatchNotFound is returned for an unknown batch id.
var ErrBatchNotFound = errors.New("catalog: batch not found")

// Summary counts the outcomes of a batch's rows and lists the first errors.
func (in *Ingester) Summary(ctx context.Context, batch int64) (Summary, error) {
	db := in.Store.db
	s := Summary{Batch: batch}
	err := db.Read.QueryRowContext(ctx, db.Rebind(`SELECT source, state, error FROM catalog_batches WHERE id = ?`), batch).Scan(&s.Source, &s.State, &s.Error)
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("catalog: summary of batch %d: %w", batch, ErrBatchNotFound)
	}
	if err != nil {
		return s, fmt.Errorf("catalog: summary of batch %d: %w", batch, err)
	}
	rows, err := db.Read.QueryContext(ctx, db.Rebind(`SELECT status, COUNT(*) FROM catalog_batch_rows WHERE batch_id = ? GROUP BY status`), batch)
	if err != nil {
		return s, fmt.Errorf("catalog: summary of batch %d: %w", batch, err)
	}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			rows.Close()
			return s, fmt.Errorf("catalog: summary of batch %d: %w", batch, err)
		}
		s.Total += n
		switch st {
		case OutcomeAdded:
			s.Added = n
		case OutcomeUpdated:
			s.Updated = n
		case OutcomeUnchanged:
			s.Unchanged = n
		case OutcomeFailed:
			s.Failed = n
		case OutcomeDeleted:
			s.Deleted = n
		}
	}
	rows.Close()
	rows, err = db.Read.QueryContext(ctx, db.Rebind(`SELECT line, product_id, reason FROM catalog_batch_rows
		WHERE batch_id = ? AND status = 'failed' ORDER BY line LIMIT ?`), batch, maxSummaryErrors)
	if err != nil {
		return s, fmt.Errorf("catalog: summary of batch %d: %w", batch, err)
	}
	defer rows.Close()
	for rows.Next() {
		var e RowError
		if err := rows.Scan(&e.Line, &e.ProductID, &e.Reason); err != nil {
			return s, fmt.Errorf("catalog: summary of batch %d: %w", batch, err)
		}
		s.Errors = append(s.Errors, e)
	}
	if err := rows.Err(); err != nil {
		return s, fmt.Errorf("catalog: summary of batch %d: %w", batch, err)
	}
	if filepath.IsAbs(s.Source) {
		s.Source = filepath.Base(s.Source)
	}
	s.Outcome = batchOutcome(s.State, s.Total, s.Failed)
	s.Hint = hintFor(s.Errors)
	if s.Version, err = in.Store.Version(ctx); err != nil {
		return s, err
	}
	return s, nil
}

// Batch outcomes: how the rows of a batch fared (Summary.Outcome).
const (
	BatchRunning   = "running"
	BatchSucceeded = "succeeded"
	// BatchPartial: the batch ran to the end and some rows failed.
	BatchPartial = "partial"
	// BatchFailed: a file-level error, or no row got into the catalog.
	BatchFailed = "failed"
)

// batchOutcome is the Summary.Outcome of a batch in run state with total
// rows of which failed failed.
func batchOutcome(state string, total, failed int) string {
	switch {
	case state == "failed":
		return BatchFailed
	case state != "succeeded":
		return BatchRunning
	case failed > 0 && failed >= total:
		return BatchFailed
	case failed > 0:
		return BatchPartial
	}
	return BatchSucceeded
}

// hintFor names the common cause of a batch's first failures when there is
// one a merchant can act on: image files named by relative paths that are
// not beside the catalog file (a CSV uploaded on its own, without them).
func hintFor(errs []RowError) string {
	if len(errs) == 0 {
		return ""
	}
	for _, e := range errs {
		if !strings.Contains(e.Reason, "image file ") || !strings.HasSuffix(e.Reason, " not found") {
			return ""
		}
	}
	return "the rows name image files by paths relative to the catalog file, and those files are not beside it: " +
		"import a ZIP that holds the CSV or JSONL file with its images, or give each row an http(s) image URL"
}

// Delete removes products from the catalog and the index, recording them
// in a batch, and snapshots the index. Unknown ids are reported as failed
// rows.
func (in *Ingester) Delete(ctx context.Context, ids []string) (Summary, error) {
	batch, err := in.NewBatch(ctx, "api", "delete")
	if err != nil {
		return Summary{}, err
	}
	db := in.Store.db
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		for i, id := range ids {
			status, reason := OutcomeDeleted, ""
			res, err := tx.ExecContext(ctx, db.Rebind(`DELETE FROM products WHERE id = ?`), id)
			if err != nil {
				return fmt.Errorf("catalog: delete %s: %w", id, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				status, reason = OutcomeFailed, "unknown product id"
			} else if _, err := in.Store.bump(ctx, tx); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO catalog_batch_rows(batch_id, line, product_id, status, reason)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT(batch_id, line) DO NOTHING`), batch, i+1, id, status, reason); err != nil {
				return fmt.Errorf("catalog: record delete of %s: %w", id, err)
			}
		}
		return nil
	})
	if err == nil && in.Index != nil {
		for _, id := range ids {
			in.Index.Remove(id)
		}
		err = in.Index.Snapshot(ctx)
	}
	return in.finish(ctx, batch, err)
}
