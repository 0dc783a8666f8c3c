package vecindex

import (
	"bytes"
	"strconv"
	"sync"
	"testing"
)

// TestConcurrentUse runs searches, upserts, deletes and snapshots at once;
// run with -race.
func TestConcurrentUse(t *testing.T) {
	const dim = 16
	ix, vecs, _ := fixture(t, 2500, Config{Dim: dim, ExactThreshold: 100}, catalogAttrs)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for r := range 4 {
		wg.Go(func() {
			for i := range 300 {
				v := vecs[(i*7+r)%len(vecs)]
				f := []*Filter{nil, {Categories: []string{"shoes"}}, {MaxPrice: 500}}[i%3]
				hs, err := ix.Search(v, 5, f)
				if err != nil {
					errs <- err
					return
				}
				if len(hs) == 0 {
					errs <- errNoHits
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 400 {
			id := strconv.Itoa(3000 + i)
			if err := ix.Upsert(id, vecs[i], catalogAttrs(i)); err != nil {
				errs <- err
				return
			}
			if i%3 == 0 {
				ix.Delete(id)
			}
		}
	})
	wg.Go(func() {
		for range 3 {
			var buf bytes.Buffer
			if err := ix.Save(&buf); err != nil {
				errs <- err
				return
			}
			if _, err := Load(&buf); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if want := 2500 + 400 - 134; ix.Len() != want {
		t.Errorf("Len = %d, want %d", ix.Len(), want)
	}
}

type sentinel string

func (s sentinel) Error() string { return string(s) }

const errNoHits = sentinel("search returned no hits")
