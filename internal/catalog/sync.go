package catalog

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// AttrRemoved marks a product that vanished from the feed it was synced
// from (the time it was found missing); it is then out of stock, so
// players show their out-of-stock fallback. A later feed that lists the
// product again restores it.
const AttrRemoved = "removed_from_feed"

// SyncResult is the outcome of one feed sync.
type SyncResult struct {
	Source string `json:"source"`
	// NotModified: the server answered 304, or the feed's bytes are those
	// of the last sync; nothing was imported.
	NotModified bool `json:"not_modified"`
	// Import is the summary of the feed's import batch.
	Import *Summary `json:"import,omitempty"`
	// Removed lists the products of the previous sync that the feed no
	// longer lists, now marked removed.
	Removed []string `json:"removed,omitempty"`
}

// Syncer keeps the catalog in step with a shop feed (a URL or a file):
// each Sync downloads the feed only when it changed (If-None-Match /
// If-Modified-Since, then its sha256), imports it as a batch (records that
// hash equal are unchanged and images already embedded are not fetched or
// embedded again, so a price or availability change costs no embedding),
// and marks removed the products the previous sync imported that the feed
// no longer lists.
type Syncer struct {
	Ingester *Ingester
	// Import imports a feed file and returns its batch summary; nil means
	// Ingester.ImportFile. A CLI that follows a server's workflows passes
	// enqueue-and-wait.
	Import func(ctx context.Context, path string) (Summary, error)
	// Client downloads feed URLs; nil means a client with a 5-minute
	// timeout.
	Client *http.Client
	// Dir keeps the downloaded feeds.
	Dir string
	// MaxBytes caps a feed download (default 2 GiB).
	MaxBytes int64
	// Every is the interval of the schedule that runs Sync, recorded with
	// each attempt as the feed's next sync time; 0 leaves that time as it
	// is (a one-off sync of a scheduled feed keeps its schedule).
	Every time.Duration
}

type feedState struct {
	etag, lastModified, sha string
	lastBatch               int64
}

// Sync brings the catalog in step with the feed at source (an http(s) URL
// or a file path). A failed attempt is recorded with the feed (see Feeds)
// and changes nothing else.
func (s *Syncer) Sync(ctx context.Context, source string) (SyncResult, error) {
	res, err := s.sync(ctx, source)
	if err != nil && ctx.Err() == nil {
		key := res.Source
		if key == "" {
			key = source
		}
		if rerr := s.saveError(ctx, key, err, time.Now().UTC()); rerr != nil {
			return res, errors.Join(err, rerr)
		}
	}
	return res, err
}

func (s *Syncer) sync(ctx context.Context, source string) (SyncResult, error) {
	key := source
	if !isURL(source) {
		abs, err := filepath.Abs(source)
		if err != nil {
			return SyncResult{}, fmt.Errorf("catalog: sync %s: %w", source, err)
		}
		key = abs
	}
	res := SyncResult{Source: key}
	st, err := s.loadState(ctx, key)
	if err != nil {
		return res, err
	}
	var file, sha, etag, lastMod string
	if isURL(key) {
		var notModified bool
		file, sha, etag, lastMod, notModified, err = s.download(ctx, key, st)
		if err != nil {
			return res, err
		}
		res.NotModified = notModified
	} else {
		file = key
		if sha, err = fileSHA256(file); err != nil {
			return res, fmt.Errorf("catalog: sync %s: %w", source, err)
		}
	}
	if !res.NotModified && sha == st.sha && st.lastBatch > 0 {
		res.NotModified = true
	}
	now := time.Now().UTC()
	if res.NotModified {
		return res, s.saveState(ctx, key, st, now, false, 0)
	}
	imp := s.Import
	if imp == nil {
		imp = func(ctx context.Context, p string) (Summary, error) { return s.Ingester.ImportFile(ctx, p, nil) }
	}
	sum, err := imp(ctx, file)
	if err != nil {
		return res, fmt.Errorf("catalog: sync %s: %w", source, err)
	}
	res.Import = &sum
	// A feed that yields no product at all is more likely broken than
	// emptied: nothing is removed on its word.
	if st.lastBatch > 0 && sum.Added+sum.Updated+sum.Unchanged > 0 {
		gone, err := s.vanished(ctx, st.lastBatch, sum.Batch)
		if err != nil {
			return res, err
		}
		if err := s.Ingester.MarkRemoved(ctx, gone, now); err != nil {
			return res, err
		}
		res.Removed = gone
	}
	next := feedState{etag: etag, lastModified: lastMod, sha: sha, lastBatch: sum.Batch}
	return res, s.saveState(ctx, key, next, now, true, len(res.Removed))
}

func (s *Syncer) loadState(ctx context.Context, key string) (feedState, error) {
	db := s.Ingester.Store.db
	var st feedState
	err := db.Read.QueryRowContext(ctx, db.Rebind(`SELECT etag, last_modified, content_sha256, last_batch FROM catalog_feeds WHERE source = ?`), key).
		Scan(&st.etag, &st.lastModified, &st.sha, &st.lastBatch)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("catalog: sync state of %s: %w", key, err)
	}
	return st, nil
}

// nextAt is when the schedule syncs a feed next, or nil to keep the
// recorded time.
func (s *Syncer) nextAt(now time.Time) any {
	if s.Every <= 0 {
		return nil
	}
	return now.Add(s.Every)
}

// saveState records a successful attempt: synced (a batch imported, which
// removed removed products) or not modified.
func (s *Syncer) saveState(ctx context.Context, key string, st feedState, now time.Time, synced bool, removed int) error {
	db := s.Ingester.Store.db
	var syncedAt any
	if synced {
		syncedAt = now
	}
	_, err := db.Write.ExecContext(ctx, db.Rebind(`INSERT INTO catalog_feeds(source, etag, last_modified, content_sha256, last_batch, checked_at, synced_at, removed, error, next_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', ?)
		ON CONFLICT(source) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified,
			content_sha256 = excluded.content_sha256, last_batch = excluded.last_batch, checked_at = excluded.checked_at,
			synced_at = COALESCE(excluded.synced_at, catalog_feeds.synced_at),
			removed = CASE WHEN excluded.synced_at IS NULL THEN catalog_feeds.removed ELSE excluded.removed END,
			error = '', next_at = COALESCE(excluded.next_at, catalog_feeds.next_at)`),
		key, st.etag, st.lastModified, st.sha, st.lastBatch, now, syncedAt, removed, s.nextAt(now))
	if err != nil {
		return fmt.Errorf("catalog: save sync state of %s: %w", key, err)
	}
	return nil
}

// saveError records a failed attempt; the validators and the last batch
// stay those of the last sync that worked.
func (s *Syncer) saveError(ctx context.Context, key string, cause error, now time.Time) error {
	db := s.Ingester.Store.db
	msg := cause.Error()
	if len(msg) > 2000 {
		msg = strings.ToValidUTF8(msg[:2000], "")
	}
	_, err := db.Write.ExecContext(ctx, db.Rebind(`INSERT INTO catalog_feeds(source, checked_at, error, next_at) VALUES (?, ?, ?, ?)
		ON CONFLICT(source) DO UPDATE SET checked_at = excluded.checked_at, error = excluded.error,
			next_at = COALESCE(excluded.next_at, catalog_feeds.next_at)`),
		key, now, msg, s.nextAt(now))
	if err != nil {
		return fmt.Errorf("catalog: save sync error of %s: %w", key, err)
	}
	return nil
}

// Feed is the sync summary of one feed: its last attempt, the counts of
// the last batch a sync imported and when its schedule syncs it next.
type Feed struct {
	Source string `json:"source"`
	// CheckedAt is the last attempt; SyncedAt the last one that imported
	// a batch (the others found the feed not modified, or failed).
	CheckedAt *time.Time `json:"checked_at,omitempty"`
	SyncedAt  *time.Time `json:"synced_at,omitempty"`
	// NextAt is when the schedule syncs the feed next; nil when no
	// schedule has run it.
	NextAt *time.Time `json:"next_at,omitempty"`
	// Error is why the last attempt failed; empty when it worked.
	Error string `json:"error,omitempty"`
	// Batch is the import batch of the last sync (0: none yet), with its
	// counts; Removed counts the products that sync marked removed.
	Batch     int64  `json:"batch,omitempty"`
	Outcome   string `json:"outcome,omitempty"`
	Total     int    `json:"total"`
	Added     int    `json:"added"`
	Updated   int    `json:"updated"`
	Unchanged int    `json:"unchanged"`
	Failed    int    `json:"failed"`
	Removed   int    `json:"removed"`
}

// Feeds lists the synced feeds, the most recently checked first.
func (s *Store) Feeds(ctx context.Context) ([]Feed, error) {
	// A batch's counts are those of its rows (as in Summary).
	rows, err := s.db.Read.QueryContext(ctx, `SELECT f.source, f.checked_at, f.synced_at, f.next_at, f.error, f.last_batch, f.removed,
			COALESCE(b.state, ''),
			(SELECT COUNT(*) FROM catalog_batch_rows r WHERE r.batch_id = f.last_batch),
			(SELECT COUNT(*) FROM catalog_batch_rows r WHERE r.batch_id = f.last_batch AND r.status = 'added'),
			(SELECT COUNT(*) FROM catalog_batch_rows r WHERE r.batch_id = f.last_batch AND r.status = 'updated'),
			(SELECT COUNT(*) FROM catalog_batch_rows r WHERE r.batch_id = f.last_batch AND r.status = 'unchanged'),
			(SELECT COUNT(*) FROM catalog_batch_rows r WHERE r.batch_id = f.last_batch AND r.status = 'failed')
		FROM catalog_feeds f LEFT JOIN catalog_batches b ON b.id = f.last_batch
		ORDER BY f.checked_at DESC, f.source`)
	if err != nil {
		return nil, fmt.Errorf("catalog: feeds: %w", err)
	}
	defer rows.Close()
	var out []Feed
	for rows.Next() {
		var f Feed
		var checked, synced, next sql.NullTime
		var state string
		if err := rows.Scan(&f.Source, &checked, &synced, &next, &f.Error, &f.Batch, &f.Removed,
			&state, &f.Total, &f.Added, &f.Updated, &f.Unchanged, &f.Failed); err != nil {
			return nil, fmt.Errorf("catalog: feeds: %w", err)
		}
		for _, t := range []struct {
			n *sql.NullTime
			p **time.Time
		}{{&checked, &f.CheckedAt}, {&synced, &f.SyncedAt}, {&next, &f.NextAt}} {
			if t.n.Valid {
				v := t.n.Time.UTC()
				*t.p = &v
			}
		}
		if f.Batch > 0 {
			f.Outcome = batchOutcome(state, f.Total, f.Failed)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// download fetches the feed at u unless it is unchanged since st, into
// Dir under a name that keeps the URL's extension (or one its content
// type implies), so the importer can tell its format.
func (s *Syncer) download(ctx context.Context, u string, st feedState) (file, sha, etag, lastMod string, notModified bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", "", "", "", false, fmt.Errorf("catalog: sync %s: %w", u, err)
	}
	if st.lastBatch > 0 {
		if st.etag != "" {
			req.Header.Set("If-None-Match", st.etag)
		}
		if st.lastModified != "" {
			req.Header.Set("If-Modified-Since", st.lastModified)
		}
	}
	c := s.Client
	if c == nil {
		c = &http.Client{Timeout: 5 * time.Minute}
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", "", "", "", false, fmt.Errorf("catalog: sync: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		return "", st.sha, st.etag, st.lastModified, true, nil
	case http.StatusOK:
	default:
		return "", "", "", "", false, fmt.Errorf("catalog: sync: GET %s: %s", u, resp.Status)
	}
	ext, err := feedExt(u, resp.Header.Get("Content-Type"))
	if err != nil {
		return "", "", "", "", false, err
	}
	if err := os.MkdirAll(s.Dir, 0o750); err != nil {
		return "", "", "", "", false, fmt.Errorf("catalog: sync: %w", err)
	}
	sum := sha256.Sum256([]byte(u))
	file = filepath.Join(s.Dir, "feed-"+hex.EncodeToString(sum[:8])+ext)
	tmp, err := os.CreateTemp(s.Dir, ".feed-*.part")
	if err != nil {
		return "", "", "", "", false, fmt.Errorf("catalog: sync: %w", err)
	}
	defer os.Remove(tmp.Name())
	max := s.MaxBytes
	if max <= 0 {
		max = 2 << 30
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(resp.Body, max+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > max {
		err = fmt.Errorf("feed larger than %d bytes", max)
	}
	if err != nil {
		return "", "", "", "", false, fmt.Errorf("catalog: sync: download %s: %w", u, err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return "", "", "", "", false, fmt.Errorf("catalog: sync: %w", err)
	}
	return file, hex.EncodeToString(h.Sum(nil)), resp.Header.Get("ETag"), resp.Header.Get("Last-Modified"), false, nil
}

// feedExt is the extension a downloaded feed is stored under: the URL's
// when the importer knows it, else one its Content-Type implies.
func feedExt(u, contentType string) (string, error) {
	if pu, err := url.Parse(u); err == nil {
		ext := strings.ToLower(path.Ext(pu.Path))
		if _, err := FormatOf("f" + ext); err == nil {
			return ext, nil
		}
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case strings.HasSuffix(mt, "xml"):
		return ".xml", nil
	case mt == "text/tab-separated-values", mt == "text/plain":
		return ".tsv", nil
	case mt == "text/csv":
		return ".csv", nil
	case strings.HasSuffix(mt, "json"):
		return ".json", nil
	case mt == "application/x-ndjson", mt == "application/jsonl":
		return ".jsonl", nil
	}
	return "", fmt.Errorf("catalog: sync %s: cannot tell the feed format from the URL or the content type %q", u, contentType)
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// vanished returns the products batch prev imported that batch cur does
// not list at all (a row that failed in cur still lists its product).
func (s *Syncer) vanished(ctx context.Context, prev, cur int64) ([]string, error) {
	db := s.Ingester.Store.db
	rows, err := db.Read.QueryContext(ctx, db.Rebind(`SELECT DISTINCT product_id FROM catalog_batch_rows
		WHERE batch_id = ? AND status IN ('added', 'updated', 'unchanged') AND product_id <> ''
		AND product_id NOT IN (SELECT product_id FROM catalog_batch_rows WHERE batch_id = ?)
		ORDER BY product_id`), prev, cur)
	if err != nil {
		return nil, fmt.Errorf("catalog: sync: vanished products: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("catalog: sync: vanished products: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// MarkRemoved marks products removed from their feed: out of stock, with
// AttrRemoved set to when. Their images and vectors stay (a product that
// comes back needs no embedding), the catalog version moves and the index
// takes the new availability.
func (in *Ingester) MarkRemoved(ctx context.Context, ids []string, when time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	ps, err := in.Store.GetMany(ctx, ids)
	if err != nil {
		return err
	}
	db := in.Store.db
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		ver := &txVersion{}
		for _, p := range ps {
			if p.Attributes[AttrRemoved] != "" {
				continue
			}
			p.Availability = OutOfStock
			setAttr(&p, AttrRemoved, when.Format(time.RFC3339))
			b, _ := json.Marshal(p.Attributes)
			v, err := ver.get(ctx, in.Store, tx)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, db.Rebind(`UPDATE products SET availability = ?, attributes = ?, record_hash = ?,
				version = ?, updated_at = ? WHERE id = ?`), p.Availability, string(b), p.recordHash(), v, when, p.ID); err != nil {
				return fmt.Errorf("catalog: mark %s removed: %w", p.ID, err)
			}
		}
		return nil
	})
	if err != nil || in.Index == nil {
		return err
	}
	if err := in.Index.Refresh(ctx, slices.Clone(ids)); err != nil {
		return err
	}
	return in.Index.Snapshot(ctx)
}
