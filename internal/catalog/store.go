package catalog

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vitrine-dev/vitrine/internal/store"
)

// Upsert outcomes, also the statuses of batch rows.
const (
	OutcomeAdded     = "added"
	OutcomeUpdated   = "updated"
	OutcomeUnchanged = "unchanged"
	OutcomeFailed    = "failed"
	OutcomeDeleted   = "deleted"
)

// Store reads and writes the catalog tables.
type Store struct {
	db *store.DB
}

// NewStore returns a Store on db (migrated by store.Open).
func NewStore(db *store.DB) *Store { return &Store{db: db} }

// DB returns the underlying database.
func (s *Store) DB() *store.DB { return s.db }

// Version returns the catalog version, which increases on every change.
func (s *Store) Version(ctx context.Context) (int64, error) {
	var v int64
	if err := s.db.Write.QueryRowContext(ctx, `SELECT version FROM catalog_state WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("catalog: read version: %w", err)
	}
	return v, nil
}

func (s *Store) bump(ctx context.Context, tx *sql.Tx) (int64, error) {
	var v int64
	if _, err := tx.ExecContext(ctx, `UPDATE catalog_state SET version = version + 1 WHERE id = 1`); err != nil {
		return 0, fmt.Errorf("catalog: bump version: %w", err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT version FROM catalog_state WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("catalog: bump version: %w", err)
	}
	// Other nodes' index replicas follow the change (PostgreSQL NOTIFY,
	// delivered at commit; nothing on SQLite). See Index.Follow.
	if err := s.db.Notify(ctx, tx, ChangeChannel, strconv.FormatInt(v, 10)); err != nil {
		return 0, fmt.Errorf("catalog: bump version: %w", err)
	}
	return v, nil
}

// txVersion bumps the catalog version once per transaction, on its first
// change: every change still moves the version, but a chunk of rows costs
// one bump (and one change notification) instead of one per row.
type txVersion struct{ v int64 }

func (t *txVersion) get(ctx context.Context, s *Store, tx *sql.Tx) (int64, error) {
	if t.v == 0 {
		v, err := s.bump(ctx, tx)
		if err != nil {
			return 0, err
		}
		t.v = v
	}
	return t.v, nil
}

// upsert writes p (already normalised) inside tx and reports whether it was
// added, updated or unchanged. Images whose source is unchanged keep their
// fetched state, so unchanged images are not fetched or embedded again.
func (s *Store) upsert(ctx context.Context, tx *sql.Tx, p *Product, now time.Time, ver *txVersion) (string, error) {
	hash := p.recordHash()
	var seq int64
	var oldHash, status string
	err := tx.QueryRowContext(ctx, s.db.Rebind(`SELECT seq, record_hash, status FROM products WHERE id = ?`), p.ID).Scan(&seq, &oldHash, &status)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		seq = 0
	case err != nil:
		return "", fmt.Errorf("catalog: upsert %s: %w", p.ID, err)
	case oldHash == hash && status != StatusFailed:
		return OutcomeUnchanged, nil
	}
	v, err := ver.get(ctx, s, tx)
	if err != nil {
		return "", err
	}
	attrs := "{}"
	if len(p.Attributes) > 0 {
		b, _ := json.Marshal(p.Attributes)
		attrs = string(b)
	}
	args := []any{p.Title, p.Brand, p.Category, p.Colour, nullFloat(p.Price), p.Currency, p.Availability,
		nullFloat(p.Rating), nullInt(p.RatingCount), p.URL, attrs, hash, v, now}
	outcome := OutcomeUpdated
	if seq == 0 {
		outcome = OutcomeAdded
		err = tx.QueryRowContext(ctx, s.db.Rebind(`INSERT INTO products(title, brand, category, colour, price, currency, availability,
			rating, rating_count, url, attributes, record_hash, version, updated_at, status, created_at, id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?) RETURNING seq`),
			append(args, now, p.ID)...).Scan(&seq)
	} else {
		_, err = tx.ExecContext(ctx, s.db.Rebind(`UPDATE products SET title = ?, brand = ?, category = ?, colour = ?, price = ?,
			currency = ?, availability = ?, rating = ?, rating_count = ?, url = ?, attributes = ?, record_hash = ?,
			version = ?, updated_at = ?, status = 'pending', error = '' WHERE seq = ?`), append(args, seq)...)
	}
	if err != nil {
		return "", fmt.Errorf("catalog: upsert %s: %w", p.ID, err)
	}
	// Keep image rows whose source is unchanged; replace the others.
	if _, err := tx.ExecContext(ctx, s.db.Rebind(`DELETE FROM product_images WHERE product_seq = ? AND position >= ?`), seq, len(p.Images)); err != nil {
		return "", fmt.Errorf("catalog: upsert %s images: %w", p.ID, err)
	}
	for i, src := range p.Images {
		_, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO product_images(product_seq, position, source) VALUES (?, ?, ?)
			ON CONFLICT(product_seq, position) DO UPDATE SET source = excluded.source, sha256 = '', blob_key = '',
				width = 0, height = 0, item_label = '', item_box = '', state = 'pending', error = ''
			WHERE product_images.source <> excluded.source OR product_images.state = 'failed'`), seq, i, src)
		if err != nil {
			return "", fmt.Errorf("catalog: upsert %s image %d: %w", p.ID, i, err)
		}
	}
	return outcome, nil
}

// Upsert adds or updates one product outside any batch.
func (s *Store) Upsert(ctx context.Context, p Product) (string, error) {
	if err := p.Normalize(); err != nil {
		return "", fmt.Errorf("catalog: upsert: %w", err)
	}
	var out string
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.upsert(ctx, tx, &p, time.Now().UTC(), &txVersion{})
		return err
	})
	return out, err
}

// Delete removes a product with its images and vectors and bumps the
// version. It returns ErrNotFound for an unknown id.
func (s *Store) Delete(ctx context.Context, id string) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.db.Rebind(`DELETE FROM products WHERE id = ?`), id)
		if err != nil {
			return fmt.Errorf("catalog: delete %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("catalog: delete %s: %w", id, ErrNotFound)
		}
		_, err = s.bump(ctx, tx)
		return err
	})
}

const productCols = `p.seq, p.id, p.title, p.brand, p.category, p.colour, p.price, p.currency, p.availability,
	p.rating, p.rating_count, p.url, p.attributes, p.status, p.error, p.version, p.updated_at`

func scanProduct(sc interface{ Scan(...any) error }) (int64, Product, error) {
	var p Product
	var seq int64
	var price, rating sql.NullFloat64
	var count sql.NullInt64
	var attrs string
	if err := sc.Scan(&seq, &p.ID, &p.Title, &p.Brand, &p.Category, &p.Colour, &price, &p.Currency, &p.Availability,
		&rating, &count, &p.URL, &attrs, &p.Status, &p.Error, &p.Version, &p.UpdatedAt); err != nil {
		return 0, p, err
	}
	if price.Valid {
		p.Price = &price.Float64
	}
	if rating.Valid {
		p.Rating = &rating.Float64
	}
	if count.Valid {
		p.RatingCount = &count.Int64
	}
	if attrs != "" && attrs != "{}" {
		if err := json.Unmarshal([]byte(attrs), &p.Attributes); err != nil {
			return 0, p, fmt.Errorf("attributes: %w", err)
		}
	}
	p.UpdatedAt = p.UpdatedAt.UTC()
	return seq, p, nil
}

// Get returns one product with its image sources.
func (s *Store) Get(ctx context.Context, id string) (Product, error) {
	ps, err := s.GetMany(ctx, []string{id})
	if err != nil {
		return Product{}, err
	}
	if len(ps) == 0 {
		return Product{}, fmt.Errorf("catalog: get %q: %w", id, ErrNotFound)
	}
	return ps[0], nil
}

// GetMany returns the products with these ids, in the order given; unknown
// ids are left out.
func (s *Store) GetMany(ctx context.Context, ids []string) ([]Product, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	byID := map[string]Product{}
	bySeq := map[int64]string{}
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		q := `SELECT ` + productCols + ` FROM products p WHERE p.id IN (?` + strings.Repeat(",?", len(chunk)-1) + `)`
		rows, err := s.db.Read.QueryContext(ctx, s.db.Rebind(q), anySlice(chunk)...)
		if err != nil {
			return nil, fmt.Errorf("catalog: get products: %w", err)
		}
		for rows.Next() {
			seq, p, err := scanProduct(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("catalog: get products: %w", err)
			}
			byID[p.ID] = p
			bySeq[seq] = p.ID
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("catalog: get products: %w", err)
		}
	}
	if err := s.loadImages(ctx, bySeq, byID); err != nil {
		return nil, err
	}
	out := make([]Product, 0, len(byID))
	for _, id := range ids {
		if p, ok := byID[id]; ok {
			out = append(out, p)
		}
	}
	return out, nil
}

func (s *Store) loadImages(ctx context.Context, bySeq map[int64]string, byID map[string]Product) error {
	seqs := make([]any, 0, len(bySeq))
	for seq := range bySeq {
		seqs = append(seqs, seq)
	}
	for start := 0; start < len(seqs); start += 500 {
		chunk := seqs[start:min(start+500, len(seqs))]
		q := `SELECT product_seq, source FROM product_images WHERE product_seq IN (?` + strings.Repeat(",?", len(chunk)-1) + `) ORDER BY product_seq, position`
		rows, err := s.db.Read.QueryContext(ctx, s.db.Rebind(q), chunk...)
		if err != nil {
			return fmt.Errorf("catalog: get product images: %w", err)
		}
		for rows.Next() {
			var seq int64
			var src string
			if err := rows.Scan(&seq, &src); err != nil {
				rows.Close()
				return fmt.Errorf("catalog: get product images: %w", err)
			}
			p := byID[bySeq[seq]]
			p.Images = append(p.Images, src)
			byID[bySeq[seq]] = p
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("catalog: get product images: %w", err)
		}
	}
	return nil
}

// Count returns the number of products per status.
func (s *Store) Count(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT status, COUNT(*) FROM products GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("catalog: count: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("catalog: count: %w", err)
		}
		out[st] = n
	}
	return out, rows.Err()
}

// Vector is one stored embedding of a product image.
type Vector struct {
	ProductID string
	Image     string // sha256 of the image bytes
	Kind      string // KindCrop, KindWhole, KindScene, KindAppearance
	Model     string
	Vec       []float32
}

// Vector kinds: the embedder's vectors of the main item's crop, of the
// whole image and of the item's scene view (see SceneView), and the
// appearance model's vector of the crop.
const (
	KindCrop       = "crop"
	KindWhole      = "whole"
	KindScene      = "scene"
	KindAppearance = "appearance"
	// KindViewUpper and KindViewLower are gallery views (see Viewer): the
	// upper-body and lower-body regions of a model wearing the product, as
	// a video's person regions show it.
	KindViewUpper = "view-upper"
	KindViewLower = "view-lower"
)

// indexedKinds are the kinds of embedder vectors the search index holds.
var indexedKinds = []string{KindCrop, KindWhole, KindScene, KindViewUpper, KindViewLower}

// Indexed reports whether vectors of kind belong in the search index.
func Indexed(kind string) bool {
	return slices.Contains(indexedKinds, kind)
}

// EachVector calls fn for every stored vector of model (all models when
// empty) together with its product's filter attributes, streaming rows so a
// large catalog is never held in memory twice.
func (s *Store) EachVector(ctx context.Context, model string, fn func(v Vector, p Product) error) error {
	q := `SELECT p.id, p.category, p.availability, p.price, v.image_sha256, v.kind, v.model, v.vector
		FROM product_vectors v JOIN products p ON p.seq = v.product_seq WHERE p.status = 'ready'`
	var args []any
	if model != "" {
		q += ` AND v.model = ?`
		args = append(args, model)
	}
	q += ` ORDER BY v.product_seq`
	rows, err := s.db.Read.QueryContext(ctx, s.db.Rebind(q), args...)
	if err != nil {
		return fmt.Errorf("catalog: read vectors: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v Vector
		var p Product
		var price sql.NullFloat64
		var blob []byte
		if err := rows.Scan(&p.ID, &p.Category, &p.Availability, &price, &v.Image, &v.Kind, &v.Model, &blob); err != nil {
			return fmt.Errorf("catalog: read vectors: %w", err)
		}
		if price.Valid {
			p.Price = &price.Float64
		}
		v.ProductID = p.ID
		if v.Vec, err = decodeVector(blob); err != nil {
			return fmt.Errorf("catalog: read vector of %s: %w", p.ID, err)
		}
		if err := fn(v, p); err != nil {
			return err
		}
	}
	return rows.Err()
}

// PutVectors stores vectors computed outside ingestion (the video
// matcher's appearance vectors of product images), keyed like the ingested
// ones, without changing the catalog version. Vectors of products that no
// longer exist are skipped.
func (s *Store) PutVectors(ctx context.Context, vs []Vector) error {
	if len(vs) == 0 {
		return nil
	}
	now := time.Now().UTC()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, v := range vs {
			if _, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO product_vectors(product_seq, image_sha256, kind, model, dim, vector, created_at)
				SELECT seq, ?, ?, ?, ?, ?, ? FROM products WHERE id = ?
				ON CONFLICT(product_seq, image_sha256, kind, model) DO UPDATE SET dim = excluded.dim, vector = excluded.vector, created_at = excluded.created_at`),
				v.Image, v.Kind, v.Model, len(v.Vec), encodeVector(v.Vec), now, v.ProductID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("catalog: store vectors: %w", err)
	}
	return nil
}

// countVectors counts the indexable vectors (see Indexed) of model of
// ready products: what a complete index holds.
func (s *Store) countVectors(ctx context.Context, model string) (int, error) {
	var n int
	err := s.db.Read.QueryRowContext(ctx, s.db.Rebind(`SELECT COUNT(*) FROM product_vectors v JOIN products p ON p.seq = v.product_seq
		WHERE p.status = 'ready' AND v.model = ? AND v.kind IN (`+kindList(indexedKinds)+`)`), model).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("catalog: count vectors: %w", err)
	}
	return n, nil
}

// kindList is kinds as an SQL list of string literals (they are constants).
func kindList(kinds []string) string {
	return "'" + strings.Join(kinds, "', '") + "'"
}

// ProductVectors returns the stored vectors of one product.
func (s *Store) ProductVectors(ctx context.Context, id string) ([]Vector, error) {
	rows, err := s.db.Read.QueryContext(ctx, s.db.Rebind(`SELECT v.image_sha256, v.kind, v.model, v.vector
		FROM product_vectors v JOIN products p ON p.seq = v.product_seq WHERE p.id = ? ORDER BY v.kind, v.image_sha256`), id)
	if err != nil {
		return nil, fmt.Errorf("catalog: vectors of %s: %w", id, err)
	}
	defer rows.Close()
	var out []Vector
	for rows.Next() {
		v := Vector{ProductID: id}
		var blob []byte
		if err := rows.Scan(&v.Image, &v.Kind, &v.Model, &blob); err != nil {
			return nil, fmt.Errorf("catalog: vectors of %s: %w", id, err)
		}
		if v.Vec, err = decodeVector(blob); err != nil {
			return nil, fmt.Errorf("catalog: vectors of %s: %w", id, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func encodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func decodeVector(b []byte) ([]float32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("vector blob of %d bytes is not float32", len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

func nullFloat(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func nullInt(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}
