package analytics

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzBatch feeds arbitrary bodies to the decoding and validation the
// ingest endpoint applies: bad input is an error, never a panic, and what
// passes is within bounds.
func FuzzBatch(f *testing.F) {
	f.Add([]byte(`{"events":[{"type":"impression","video":"v1","item":"t1","product":"p1","t":1.5,"session":"s"}]}`))
	f.Add([]byte(`{"events":[{"type":"click","video":"v1","item":"t1","t":-1}]}`))
	f.Add([]byte(`{"events":null}`))
	f.Add([]byte(`[1,2,3]`))
	f.Add([]byte(`{"events":[{"type":"buy","video":"` + string(bytes.Repeat([]byte("a"), 200)) + `","item":"x","product":"p","t":1e308}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var b Batch
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if dec.Decode(&b) != nil {
			return
		}
		if err := b.Validate(); err != nil {
			return
		}
		if len(b.Events) == 0 || len(b.Events) > MaxBatch {
			t.Fatalf("validated a batch of %d events", len(b.Events))
		}
		for _, e := range b.Events {
			if !validID(e.VideoID, 128) || !validID(e.ItemID, 128) || e.T < 0 {
				t.Fatalf("validated a bad event %+v", e)
			}
		}
	})
}
