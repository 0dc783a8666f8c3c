package audit

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/store/storetest"
)

func TestRecordAndList(t *testing.T) {
	for _, o := range storetest.All() {
		t.Run(o.Name, func(t *testing.T) {
			ctx := context.Background()
			l := New(o.Open(t))
			key := int64(7)
			entries := []Entry{
				{Method: "POST", Route: "POST /v1/keys", Path: "/v1/keys", Status: 201, KeyID: &key, KeyPrefix: "vtr_abc", Scope: "admin", Remote: "127.0.0.1:5"},
				{Method: "GET", Route: "GET /v1/keys", Path: "/v1/keys?" + strings.Repeat("x", 5000), Status: 401, Remote: "10.0.0.1:1"},
				{Method: "CLI", Route: "keys revoke", Path: "keys revoke 3", At: time.Now().Add(time.Second)},
			}
			for _, e := range entries {
				if err := l.Record(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			got, err := l.List(ctx, 10, 0)
			if err != nil || len(got) != 3 {
				t.Fatalf("list: %d entries, %v", len(got), err)
			}
			if got[0].Route != "keys revoke" || got[2].KeyID == nil || *got[2].KeyID != 7 || got[1].KeyID != nil {
				t.Errorf("entries %+v", got)
			}
			if len(got[1].Path) != 2048 {
				t.Errorf("long path stored with %d bytes, want it cut at 2048", len(got[1].Path))
			}
			page, err := l.List(ctx, 1, got[0].ID)
			if err != nil || len(page) != 1 || page[0].ID != got[1].ID {
				t.Errorf("page before %d: %+v %v", got[0].ID, page, err)
			}
		})
	}
}
