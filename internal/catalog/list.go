package catalog

import (
	"context"
	"fmt"
)

// List returns a page of products, most recently updated first, with their
// images and ingestion status, and the total number of products. status
// ("pending", "ready", "failed") filters when not empty.
func (s *Store) List(ctx context.Context, status string, offset, limit int) ([]Product, int, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	offset = max(offset, 0)
	where, args := "", []any{}
	if status != "" {
		where, args = " WHERE status = ?", append(args, status)
	}
	var total int
	if err := s.db.Read.QueryRowContext(ctx, s.db.Rebind(`SELECT COUNT(*) FROM products`+where), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("catalog: list products: %w", err)
	}
	rows, err := s.db.Read.QueryContext(ctx, s.db.Rebind(`SELECT id FROM products`+where+` ORDER BY updated_at DESC, seq DESC LIMIT ? OFFSET ?`),
		append(args, limit, offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("catalog: list products: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("catalog: list products: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("catalog: list products: %w", err)
	}
	ps, err := s.GetMany(ctx, ids)
	return ps, total, err
}
