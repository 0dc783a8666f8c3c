package blob

import (
	"context"
	"io"
)

// GetRange opens length bytes of the object at key starting at offset
// (length < 0 reads to the end), so media can be served to players that
// seek with HTTP Range requests without reading the object from the start.
func (s *Store) GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	if s.kr != nil {
		return s.getRangeEncrypted(ctx, key, offset, length)
	}
	r, err := s.bucket.NewRangeReader(ctx, key, offset, length, nil)
	if err != nil {
		return nil, wrap("get range", key, err)
	}
	return r, nil
}
