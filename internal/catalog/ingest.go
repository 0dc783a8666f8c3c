package catalog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vitrine-dev/vitrine/internal/vision/imageio"
)

// Detection is an object found in an image, in its pixel coordinates.
type Detection struct {
	Label string
	Score float32
	Box   image.Rectangle
}

// Detector finds objects in an image (internal/catalog/catvision adapts
// internal/vision's detector).
type Detector interface {
	Detect(ctx context.Context, img image.Image) ([]Detection, error)
}

// Embedder turns images into L2-normalised embedding vectors, one per image
// (internal/vision.ImageEmbedder).
type Embedder interface {
	EmbedImages(ctx context.Context, imgs []image.Image) ([][]float32, error)
}

// Blobs is the part of the blob store (internal/blob.Store) ingestion uses.
type Blobs interface {
	Put(ctx context.Context, key string, r io.Reader, contentType string) error
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	Exists(ctx context.Context, key string) (bool, error)
}

// URLFetcher downloads an image by URL (internal/fetch.Fetcher).
type URLFetcher interface {
	Get(ctx context.Context, url string) ([]byte, string, error)
}

// Progress reports how far a step of a batch has come.
type Progress struct {
	Step        string
	Done, Total int64
}

// ProgressFunc receives progress; it must be quick.
type ProgressFunc func(Progress)

// BlobPrefix is the blob key prefix of ingested product images; an image
// source of the form "blob:<key>" names an already uploaded image.
const BlobPrefix = "catalog/images/"

// DefaultMaxImageBytes caps one product image.
const DefaultMaxImageBytes = 20 << 20

// Ingester runs the ingestion workflow of a batch: Parse, Fetch, Embed,
// Index. Each stage reads its work from the database and can be re-run.
type Ingester struct {
	Store *Store
	Blobs Blobs
	// Fetcher downloads http(s) images; nil refuses URL images.
	Fetcher URLFetcher
	// Detector finds the main item; nil uses the trimmed whole image.
	Detector Detector
	// Embedder embeds crops and whole images; nil makes products ready
	// for text search only.
	Embedder Embedder
	// Model names the embedder in stored vectors (for example
	// "mobilenetv2-imagenet").
	Model string
	// Appearance, when set, also embeds each image's main item with the
	// appearance (re-ID) model, stored as KindAppearance under
	// AppearanceModel, for the video matcher.
	Appearance      Embedder
	AppearanceModel string
	// Shoppable lists detector labels that are products by themselves;
	// "person" boxes are used for on-model photos.
	Shoppable []string
	// Index is updated by the Index stage; nil skips it.
	Index *Index
	// Limits bounds image decoding (zero: imageio defaults with
	// DefaultMaxImageBytes).
	Limits imageio.Limits
	Log    *slog.Logger
	// Views, when set, gives extra views of each image's main item to
	// embed and index beside it (gallery augmentation; see Viewer).
	Views Viewer
	// EmbedWorkers is how many images the embed stage works on at once
	// (0: DefaultEmbedWorkers; negative: one). The models should allow as
	// many concurrent runs (vision.Options.Runs).
	EmbedWorkers int
	// Prepare, when set, runs after a batch's products are indexed (the
	// features stage) with their ids; it precomputes what other services
	// derive from product images. It must be idempotent: a resumed stage
	// calls it again.
	Prepare PrepareFunc
	// Decoded, when set, is given the first image of each product as the
	// embed stage decoded it, with its main item, so what other services
	// derive from the pixels (verification features, colours) needs no
	// second read and decode. An image whose content was embedded already
	// is not decoded again, so not handed over. It must be idempotent and
	// safe for concurrent use; an error fails the stage like a model error.
	Decoded DecodedFunc
}

// DecodedImage is a product's first image as decoded from its blob, at
// full resolution, and the main item the embed stage found in it.
type DecodedImage struct {
	ProductID string
	// SHA256 is the hex digest of the image file.
	SHA256 string
	Image  image.Image
	// Item is the main item; its box is in Image's pixels.
	Item Item
}

// DecodedFunc receives images as the embed stage decodes them.
type DecodedFunc func(ctx context.Context, d DecodedImage) error

// Viewer gives the extra views of a product image's main item that are
// embedded and indexed beside the crop, whole image and scene view: parts
// of it as videos show them, such as the upper-body region of a model
// wearing a top. Kinds must depend only on the main item's label and the
// product's category, and every kind must be one of ViewKinds.
type Viewer interface {
	// ViewKinds returns the kinds of the views Views gives for a main item
	// with this detector label, of a product of this category.
	ViewKinds(label, category string) []string
	// Views returns the views' boxes (inside bounds), by kind.
	Views(bounds image.Rectangle, item Item, category string) map[string]image.Rectangle
}

// PrepareFunc precomputes, for the given ready products, what video
// matching derives from their images, reporting progress as it goes
// (report may be nil).
type PrepareFunc func(ctx context.Context, ids []string, report func(done, total int64)) error

func (in *Ingester) log() *slog.Logger {
	if in.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return in.Log
}

func (in *Ingester) limits() imageio.Limits {
	l := in.Limits
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxImageBytes
	}
	return l
}

// Summary is the outcome of a batch.
type Summary struct {
	Batch int64 `json:"batch"`
	// Source is the imported file's name (never its path on the server),
	// or a label such as "api".
	Source string `json:"source"`
	// State is the batch's run state: running, succeeded or failed.
	State string `json:"state"`
	// Outcome says how the rows fared (BatchSucceeded, BatchPartial,
	// BatchFailed, or BatchRunning while it runs): a batch that ran to the
	// end with failed rows is partial, or failed when no row got in.
	Outcome string `json:"outcome"`
	// Error is the file-level error of a failed batch.
	Error string `json:"error,omitempty"`
	// Hint says in words what to change when the failures share a cause
	// the importer can name (images named by paths that are not beside
	// the file).
	Hint      string     `json:"hint,omitempty"`
	Total     int        `json:"total"`
	Added     int        `json:"added"`
	Updated   int        `json:"updated"`
	Unchanged int        `json:"unchanged"`
	Failed    int        `json:"failed"`
	Deleted   int        `json:"deleted"`
	Version   int64      `json:"catalog_version"`
	Errors    []RowError `json:"errors,omitempty"`
}

// RowError is one failed input row.
type RowError struct {
	Line      int    `json:"line"`
	ProductID string `json:"product_id,omitempty"`
	Reason    string `json:"reason"`
}

// maxSummaryErrors caps the errors listed in a Summary.
const maxSummaryErrors = 100

// NewBatch records a new batch reading source (a file path, or a label such
// as "api") and returns its id.
func (in *Ingester) NewBatch(ctx context.Context, source string, f Format) (int64, error) {
	var id int64
	db := in.Store.db
	err := db.Write.QueryRowContext(ctx, db.Rebind(`INSERT INTO catalog_batches(source, format, state, created_at)
		VALUES (?, ?, 'running', ?) RETURNING id`), source, string(f), time.Now().UTC()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("catalog: create batch: %w", err)
	}
	return id, nil
}

// parseChunk is the number of rows written per transaction by Parse.
const parseChunk = 256

// ParseFile is the "parse" stage for a file batch: it streams the file and
// upserts each good row, recording every row's outcome. Rows already
// recorded for this batch (by an interrupted earlier run) are skipped, so
// the stage resumes where it stopped. A file-level error (unreadable file,
// no id column) is returned; row errors are recorded.
func (in *Ingester) ParseFile(ctx context.Context, batch int64, path string, progress ProgressFunc) error {
	f, err := FormatOf(path)
	if err != nil {
		return err
	}
	fh, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("catalog: open %s: %w", filepath.Base(path), err)
	}
	defer fh.Close()
	var total int64
	if st, err := fh.Stat(); err == nil {
		total = st.Size()
	}
	cr := &countingReader{r: fh}
	p, err := NewParser(cr, f)
	if err != nil {
		return fmt.Errorf("catalog: parse %s: %w", filepath.Base(path), err)
	}
	next := func() (Row, error) { return p.Next() }
	report := func() {
		if progress != nil {
			progress(Progress{Step: "parse", Done: cr.n, Total: total})
		}
	}
	return in.parseRows(ctx, batch, next, report, nil)
}

// ParseProducts is the "parse" stage for products given directly (REST
// bulk upsert); row numbers are 1-based positions in ps.
func (in *Ingester) ParseProducts(ctx context.Context, batch int64, ps []Product) error {
	seen := map[string]int{}
	i := 0
	next := func() (Row, error) {
		if i >= len(ps) {
			return Row{}, io.EOF
		}
		r := Row{Line: i + 1, Product: ps[i]}
		i++
		r.Err = r.Product.Normalize()
		if first, dup := seen[r.Product.ID]; dup && r.Err == nil {
			r.Err = fmt.Errorf("duplicate id %q (first at %d)", r.Product.ID, first)
		} else if !dup {
			seen[r.Product.ID] = r.Line
		}
		return r, nil
	}
	return in.parseRows(ctx, batch, next, nil, apiImagesOnly)
}

// apiImagesOnly refuses image paths in batches that have no directory to
// resolve them against.
func apiImagesOnly(r *Row) {
	for _, src := range r.Product.Images {
		if r.Err == nil && !isURL(src) && !strings.HasPrefix(src, "blob:") {
			r.Err = fmt.Errorf("image %q: want an http(s) URL or an uploaded blob: reference", truncate(src, 60))
		}
	}
}

func (in *Ingester) parseRows(ctx context.Context, batch int64, next func() (Row, error), report func(), check func(*Row)) error {
	db := in.Store.db
	done := map[int]bool{}
	rows, err := db.Write.QueryContext(ctx, db.Rebind(`SELECT line FROM catalog_batch_rows WHERE batch_id = ?`), batch)
	if err != nil {
		return fmt.Errorf("catalog: parse: read recorded rows: %w", err)
	}
	for rows.Next() {
		var l int
		if err := rows.Scan(&l); err != nil {
			rows.Close()
			return fmt.Errorf("catalog: parse: read recorded rows: %w", err)
		}
		done[l] = true
	}
	rows.Close()
	var chunk []Row
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		now := time.Now().UTC()
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			ver := &txVersion{}
			for i := range chunk {
				r := &chunk[i]
				status, reason := OutcomeFailed, ""
				if r.Err != nil {
					reason = r.Err.Error()
				} else {
					var err error
					if status, err = in.Store.upsert(ctx, tx, &r.Product, now, ver); err != nil {
						return err
					}
				}
				if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO catalog_batch_rows(batch_id, line, product_id, status, reason)
					VALUES (?, ?, ?, ?, ?)`), batch, r.Line, r.Product.ID, status, reason); err != nil {
					return fmt.Errorf("catalog: record row %d: %w", r.Line, err)
				}
			}
			return nil
		})
		chunk = chunk[:0]
		if report != nil {
			report()
		}
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		r, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if done[r.Line] {
			continue
		}
		if check != nil {
			check(&r)
		}
		chunk = append(chunk, r)
		if len(chunk) >= parseChunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	_, err = db.Write.ExecContext(ctx, db.Rebind(`UPDATE catalog_batches SET total = (SELECT COUNT(*) FROM catalog_batch_rows WHERE batch_id = ?) WHERE id = ?`), batch, batch)
	if err != nil {
		return fmt.Errorf("catalog: parse: count rows: %w", err)
	}
	return nil
}

// workImage is one image of a batch product that a stage looks at.
type workImage struct {
	line     int
	seq      int64
	id       string
	rowState string
	pos      int
	source   string
	sha      string
	blobKey  string
	state    string
	category string
}

// batchImages pages through the images of the batch's live rows in line
// order, so memory stays bounded for any batch size.
func (in *Ingester) batchImages(ctx context.Context, batch int64, where string, args []any, fn func([]workImage) error) error {
	db := in.Store.db
	after := -1
	for {
		q := `SELECT r.line, p.seq, p.id, r.status, i.position, i.source, i.sha256, i.blob_key, i.state, p.category
			FROM catalog_batch_rows r JOIN products p ON p.id = r.product_id
			JOIN product_images i ON i.product_seq = p.seq
			WHERE r.batch_id = ? AND r.status IN ('added', 'updated', 'unchanged') AND r.line > ? ` + where + `
			ORDER BY r.line, i.position LIMIT 512`
		rows, err := db.Read.QueryContext(ctx, db.Rebind(q), append([]any{batch, after}, args...)...)
		if err != nil {
			return fmt.Errorf("catalog: list batch images: %w", err)
		}
		var page []workImage
		for rows.Next() {
			var w workImage
			if err := rows.Scan(&w.line, &w.seq, &w.id, &w.rowState, &w.pos, &w.source, &w.sha, &w.blobKey, &w.state, &w.category); err != nil {
				rows.Close()
				return fmt.Errorf("catalog: list batch images: %w", err)
			}
			page = append(page, w)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("catalog: list batch images: %w", err)
		}
		if len(page) == 0 {
			return nil
		}
		// Drop a trailing partial row: the next page starts at its line.
		last := page[len(page)-1].line
		if len(page) == 512 {
			trim := len(page)
			for trim > 0 && page[trim-1].line == last {
				trim--
			}
			if trim > 0 {
				page = page[:trim]
				last = page[len(page)-1].line
			}
		}
		if err := fn(page); err != nil {
			return err
		}
		after = last
	}
}

func (in *Ingester) countBatchImages(ctx context.Context, batch int64, where string, args []any) int64 {
	db := in.Store.db
	var n int64
	_ = db.Read.QueryRowContext(ctx, db.Rebind(`SELECT COUNT(*) FROM catalog_batch_rows r JOIN products p ON p.id = r.product_id
		JOIN product_images i ON i.product_seq = p.seq
		WHERE r.batch_id = ? AND r.status IN ('added', 'updated', 'unchanged') `+where), append([]any{batch}, args...)...).Scan(&n)
	return n
}

// Fetch is the "fetch" stage: it reads every image of the batch (relative
// path under the batch file's directory, http(s) URL, or uploaded blob),
// checks it is a decodable image within the limits, and stores it in the
// blob store under its sha256. An image whose content is unchanged keeps its
// vectors. A product with an unreadable image is marked failed.
func (in *Ingester) Fetch(ctx context.Context, batch int64, progress ProgressFunc) error {
	db := in.Store.db
	var source string
	if err := db.Read.QueryRowContext(ctx, db.Rebind(`SELECT source FROM catalog_batches WHERE id = ?`), batch).Scan(&source); err != nil {
		return fmt.Errorf("catalog: fetch: batch %d: %w", batch, err)
	}
	var root *os.Root
	if source != "" && source != "api" {
		r, err := os.OpenRoot(filepath.Dir(source))
		if err != nil {
			return fmt.Errorf("catalog: fetch: open image directory: %w", err)
		}
		defer r.Close()
		root = r
	}
	total := in.countBatchImages(ctx, batch, "", nil)
	var done int64
	return in.batchImages(ctx, batch, "", nil, func(page []workImage) error {
		for _, w := range page {
			if err := ctx.Err(); err != nil {
				return err
			}
			// Remote and uploaded images that were fully processed are
			// trusted unchanged; local files are cheap to re-hash.
			if w.state == "embedded" && (isURL(w.source) || strings.HasPrefix(w.source, "blob:")) {
				done++
				continue
			}
			data, err := in.readImage(ctx, root, w.source)
			var info image.Config
			if err == nil {
				info, err = checkImage(data, in.limits())
			}
			if err != nil {
				if err := in.failImage(ctx, batch, w, err); err != nil {
					return err
				}
				done++
				continue
			}
			sum := sha256.Sum256(data)
			sha := hex.EncodeToString(sum[:])
			if sha == w.sha && (w.state == "embedded" || w.state == "fetched") {
				done++
				continue
			}
			key := BlobPrefix + sha
			if ok, err := in.Blobs.Exists(ctx, key); err != nil {
				return fmt.Errorf("catalog: fetch: %w", err)
			} else if !ok {
				if err := in.Blobs.Put(ctx, key, bytes.NewReader(data), http.DetectContentType(data)); err != nil {
					return fmt.Errorf("catalog: fetch: store image of %s: %w", w.id, err)
				}
			}
			err = db.Tx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, db.Rebind(`UPDATE product_images SET sha256 = ?, blob_key = ?, width = ?, height = ?,
					state = 'fetched', error = '' WHERE product_seq = ? AND position = ?`), sha, key, info.Width, info.Height, w.seq, w.pos); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, db.Rebind(`UPDATE products SET status = 'pending' WHERE seq = ?`), w.seq); err != nil {
					return err
				}
				if w.rowState == OutcomeUnchanged && w.sha != "" {
					// Same record, new image content: that is an update.
					if _, err := in.Store.bump(ctx, tx); err != nil {
						return err
					}
					_, err := tx.ExecContext(ctx, db.Rebind(`UPDATE catalog_batch_rows SET status = 'updated' WHERE batch_id = ? AND line = ?`), batch, w.line)
					return err
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("catalog: fetch: record image of %s: %w", w.id, err)
			}
			done++
			if progress != nil {
				progress(Progress{Step: "fetch", Done: done, Total: total})
			}
		}
		if progress != nil {
			progress(Progress{Step: "fetch", Done: done, Total: total})
		}
		return nil
	})
}

func (in *Ingester) readImage(ctx context.Context, root *os.Root, src string) ([]byte, error) {
	max := in.limits().MaxBytes
	switch {
	case isURL(src):
		if in.Fetcher == nil {
			return nil, errors.New("image URLs are not enabled")
		}
		b, ct, err := in.Fetcher.Get(ctx, src)
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(ct, "image/") {
			return nil, fmt.Errorf("not an image (%s)", ct)
		}
		return b, nil
	case strings.HasPrefix(src, "blob:"):
		key := strings.TrimPrefix(src, "blob:")
		if !strings.HasPrefix(key, BlobPrefix) {
			return nil, fmt.Errorf("blob reference %q is not a catalog image", src)
		}
		r, err := in.Blobs.Get(ctx, key)
		if err != nil {
			return nil, err
		}
		defer r.Close()
		return readCapped(r, max)
	case root == nil:
		return nil, fmt.Errorf("relative image path %q needs a catalog file", src)
	}
	if strings.Contains(src, "://") {
		return nil, fmt.Errorf("unsupported image URL scheme in %q", src)
	}
	// os.Root refuses paths that escape the catalog file's directory,
	// through ".." or symlinks.
	f, err := root.Open(filepath.FromSlash(src))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("image file %q not found", src)
		}
		return nil, fmt.Errorf("image file %q: %w", src, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > max {
		return nil, fmt.Errorf("image file %q: %d bytes: %w (limit %d)", src, st.Size(), imageio.ErrTooLarge, max)
	}
	return readCapped(f, max)
}

// checkImage validates image bytes cheaply, from the header only: size, a
// sniffed image type, and the declared pixel count. The full decode happens
// in the embed stage, which fails the product if the body is corrupt.
func checkImage(data []byte, lim imageio.Limits) (image.Config, error) {
	if lim.MaxPixels <= 0 {
		lim.MaxPixels = imageio.DefaultLimits().MaxPixels
	}
	if len(data) == 0 {
		return image.Config{}, imageio.ErrEmpty
	}
	if int64(len(data)) > lim.MaxBytes {
		return image.Config{}, fmt.Errorf("more than %d bytes: %w", lim.MaxBytes, imageio.ErrTooLarge)
	}
	switch ct := http.DetectContentType(data); ct {
	case "image/jpeg", "image/png", "image/gif", "image/webp":
	default:
		return image.Config{}, fmt.Errorf("%w (content looks like %s)", imageio.ErrNotImage, ct)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return image.Config{}, fmt.Errorf("%w: %v", imageio.ErrCorrupt, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return image.Config{}, fmt.Errorf("%w: size %dx%d", imageio.ErrCorrupt, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > lim.MaxPixels {
		return image.Config{}, fmt.Errorf("%dx%d is %d pixels, limit %d: %w", cfg.Width, cfg.Height, px, lim.MaxPixels, imageio.ErrTooManyPixels)
	}
	return cfg, nil
}

func readCapped(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("more than %d bytes: %w", max, imageio.ErrTooLarge)
	}
	return b, nil
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// failImage marks an image, its product and its batch row failed.
func (in *Ingester) failImage(ctx context.Context, batch int64, w workImage, cause error) error {
	reason := fmt.Sprintf("image %d (%s): %v", w.pos+1, truncate(w.source, 80), cause)
	in.log().Warn("catalog: product image failed", "batch", batch, "product", w.id, "reason", reason)
	db := in.Store.db
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.Rebind(`UPDATE product_images SET state = 'failed', error = ? WHERE product_seq = ? AND position = ?`), cause.Error(), w.seq, w.pos); err != nil {
			return err
		}
		return in.failProductTx(ctx, tx, batch, w.line, w.seq, reason)
	})
	if err != nil {
		return fmt.Errorf("catalog: mark %s failed: %w", w.id, err)
	}
	return nil
}

func (in *Ingester) failProductTx(ctx context.Context, tx *sql.Tx, batch int64, line int, seq int64, reason string) error {
	db := in.Store.db
	res, err := tx.ExecContext(ctx, db.Rebind(`UPDATE products SET status = 'failed', error = ? WHERE seq = ? AND status <> 'failed'`), reason, seq)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		if _, err := in.Store.bump(ctx, tx); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, db.Rebind(`UPDATE catalog_batch_rows SET status = 'failed', reason = ? WHERE batch_id = ? AND line = ?`), reason, batch, line)
	return err
}
