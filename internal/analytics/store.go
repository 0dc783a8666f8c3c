package analytics

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/vitrine-dev/vitrine/internal/store"
)

// Store writes and reads analytics in vitrine's database.
type Store struct {
	db     *store.DB
	maxRaw int
}

// NewStore returns a Store keeping at most maxRaw raw events (0 means
// 100000); counters are kept forever.
func NewStore(db *store.DB, maxRaw int) *Store {
	if maxRaw <= 0 {
		maxRaw = 100000
	}
	return &Store{db: db, maxRaw: maxRaw}
}

type dayKey struct{ day, video, product string }

type counts struct{ impressions, clicks, buys, carts int64 }

// Write stores records in one transaction: counters are summed in memory
// first so a batch costs one upsert per (day, video, product).
func (s *Store) Write(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	agg := map[dayKey]*counts{}
	for _, r := range recs {
		k := dayKey{r.At.UTC().Format(time.DateOnly), r.VideoID, r.ProductID}
		c := agg[k]
		if c == nil {
			c = &counts{}
			agg[k] = c
		}
		switch r.Type {
		case Impression:
			c.impressions++
		case Click:
			c.clicks++
		case Buy:
			c.buys++
		case AddToCart:
			c.carts++
		}
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		up, err := tx.PrepareContext(ctx, s.db.Rebind(`INSERT INTO analytics_daily (day, video_id, product_id, impressions, clicks, buys, carts)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (video_id, product_id, day) DO UPDATE SET
				impressions = analytics_daily.impressions + excluded.impressions,
				clicks = analytics_daily.clicks + excluded.clicks,
				buys = analytics_daily.buys + excluded.buys,
				carts = analytics_daily.carts + excluded.carts`))
		if err != nil {
			return err
		}
		defer up.Close()
		for k, c := range agg {
			if _, err := up.ExecContext(ctx, k.day, k.video, k.product, c.impressions, c.clicks, c.buys, c.carts); err != nil {
				return err
			}
		}
		ins, err := tx.PrepareContext(ctx, s.db.Rebind(`INSERT INTO analytics_events
			(received_at, type, video_id, item_id, product_id, t, session, key_id, origin)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`))
		if err != nil {
			return err
		}
		defer ins.Close()
		for _, r := range recs {
			if _, err := ins.ExecContext(ctx, r.At.UTC(), r.Type, r.VideoID, r.ItemID, r.ProductID, r.T, r.Session, r.KeyID, r.Origin); err != nil {
				return err
			}
		}
		// Keep only the newest maxRaw raw events.
		_, err = tx.ExecContext(ctx, s.db.Rebind(`DELETE FROM analytics_events
			WHERE id <= (SELECT MAX(id) FROM analytics_events) - ?`), s.maxRaw)
		return err
	})
	if err != nil {
		return fmt.Errorf("analytics: write %d events: %w", len(recs), err)
	}
	return nil
}

// Counts are the totals of one slice of the counters.
type Counts struct {
	Impressions int64 `json:"impressions"`
	Clicks      int64 `json:"clicks"`
	Buys        int64 `json:"buys"`
	// AddToCart counts "Add to cart" presses (products without a link).
	AddToCart int64 `json:"add_to_cart"`
	// CTR is clicks per impression (0 without impressions).
	CTR float64 `json:"ctr"`
}

func (c *Counts) add(o Counts) {
	c.Impressions += o.Impressions
	c.Clicks += o.Clicks
	c.Buys += o.Buys
	c.AddToCart += o.AddToCart
}

func (c *Counts) finish() {
	c.CTR = 0
	if c.Impressions > 0 {
		c.CTR = float64(c.Clicks) / float64(c.Impressions)
	}
}

// Row is the counts of one product (in a video report), one video (in a
// product report) or one video overall (in a summary).
type Row struct {
	ID string `json:"id"`
	Counts
}

// Day is the counts of one UTC day.
type Day struct {
	Day string `json:"day"`
	Counts
}

// Report answers "how did this video (or product) do between From and To".
type Report struct {
	ID    string `json:"id"`
	From  string `json:"from"`
	To    string `json:"to"`
	Total Counts `json:"total"`
	// Rows is per product for a video report, per video for a product
	// report, most impressions first.
	Rows []Row `json:"rows"`
	Days []Day `json:"days"`
}

// Range is an inclusive range of UTC days.
type Range struct{ From, To time.Time }

// LastDays returns the n days ending today (UTC).
func LastDays(now time.Time, n int) Range {
	to := now.UTC()
	return Range{From: to.AddDate(0, 0, -(n - 1)), To: to}
}

func (r Range) bounds() (string, string) {
	return r.From.UTC().Format(time.DateOnly), r.To.UTC().Format(time.DateOnly)
}

// VideoReport returns a video's counters per product and per day.
func (s *Store) VideoReport(ctx context.Context, videoID string, r Range) (Report, error) {
	return s.report(ctx, "video_id", "product_id", videoID, r)
}

// ProductReport returns a product's counters per video and per day.
func (s *Store) ProductReport(ctx context.Context, productID string, r Range) (Report, error) {
	return s.report(ctx, "product_id", "video_id", productID, r)
}

// report groups the counters of one video or product. by and group are
// column names chosen by the callers above, never user input.
func (s *Store) report(ctx context.Context, by, group, id string, r Range) (Report, error) {
	from, to := r.bounds()
	rep := Report{ID: id, From: from, To: to, Rows: []Row{}, Days: []Day{}}
	rows, err := s.db.Read.QueryContext(ctx, s.db.Rebind(`SELECT `+group+`, day, impressions, clicks, buys, carts
		FROM analytics_daily WHERE `+by+` = ? AND day >= ? AND day <= ? ORDER BY day`), id, from, to)
	if err != nil {
		return rep, fmt.Errorf("analytics: report %s: %w", id, err)
	}
	defer rows.Close()
	rowAt := map[string]int{}
	dayAt := map[string]int{}
	for rows.Next() {
		var g, day string
		var c Counts
		if err := rows.Scan(&g, &day, &c.Impressions, &c.Clicks, &c.Buys, &c.AddToCart); err != nil {
			return rep, fmt.Errorf("analytics: report %s: %w", id, err)
		}
		rep.Total.add(c)
		i, ok := rowAt[g]
		if !ok {
			i = len(rep.Rows)
			rowAt[g] = i
			rep.Rows = append(rep.Rows, Row{ID: g})
		}
		rep.Rows[i].add(c)
		j, ok := dayAt[day]
		if !ok {
			j = len(rep.Days)
			dayAt[day] = j
			rep.Days = append(rep.Days, Day{Day: day})
		}
		rep.Days[j].add(c)
	}
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("analytics: report %s: %w", id, err)
	}
	rep.Total.finish()
	for i := range rep.Rows {
		rep.Rows[i].finish()
	}
	for i := range rep.Days {
		rep.Days[i].finish()
	}
	sort.SliceStable(rep.Rows, func(i, j int) bool {
		if rep.Rows[i].Impressions != rep.Rows[j].Impressions {
			return rep.Rows[i].Impressions > rep.Rows[j].Impressions
		}
		return rep.Rows[i].ID < rep.Rows[j].ID
	})
	return rep, nil
}

// Videos returns per-video totals over r, most impressions first, at most limit.
func (s *Store) Videos(ctx context.Context, r Range, limit int) ([]Row, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	from, to := r.bounds()
	rows, err := s.db.Read.QueryContext(ctx, s.db.Rebind(`SELECT video_id, SUM(impressions), SUM(clicks), SUM(buys), SUM(carts)
		FROM analytics_daily WHERE day >= ? AND day <= ?
		GROUP BY video_id ORDER BY SUM(impressions) DESC, video_id LIMIT ?`), from, to, limit)
	if err != nil {
		return nil, fmt.Errorf("analytics: list videos: %w", err)
	}
	defer rows.Close()
	out := []Row{}
	for rows.Next() {
		var row Row
		if err := rows.Scan(&row.ID, &row.Impressions, &row.Clicks, &row.Buys, &row.AddToCart); err != nil {
			return nil, fmt.Errorf("analytics: list videos: %w", err)
		}
		row.finish()
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("analytics: list videos: %w", err)
	}
	return out, nil
}

// Recent returns the newest raw events of a video (all videos when videoID
// is empty), newest first.
func (s *Store) Recent(ctx context.Context, videoID string, limit int) ([]Record, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q := `SELECT received_at, type, video_id, item_id, product_id, t, session, key_id, origin FROM analytics_events`
	args := []any{}
	if videoID != "" {
		q += ` WHERE video_id = ?`
		args = append(args, videoID)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.Read.QueryContext(ctx, s.db.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("analytics: recent events: %w", err)
	}
	defer rows.Close()
	out := []Record{}
	for rows.Next() {
		var r Record
		if err := rows.Scan(&r.At, &r.Type, &r.VideoID, &r.ItemID, &r.ProductID, &r.T, &r.Session, &r.KeyID, &r.Origin); err != nil {
			return nil, fmt.Errorf("analytics: recent events: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("analytics: recent events: %w", err)
	}
	return out, nil
}
