package vecindex

import (
	"bytes"
	"errors"
	"slices"
	"strconv"
	"testing"
)

func TestSnapshotRoundTrip(t *testing.T) {
	const dim = 32
	ix, _, gen := fixture(t, 3000, Config{Dim: dim, ExactThreshold: -1, EfSearch: 40}, catalogAttrs)
	for i := 0; i < 3000; i += 17 {
		ix.Delete(strconv.Itoa(i)) // keep tombstones in the snapshot
	}
	ix.SetStamp(12345)
	var buf bytes.Buffer
	if err := ix.Save(&buf); err != nil {
		t.Fatal(err)
	}
	h, err := ReadHeader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if h.Stamp != 12345 || h.Version != snapshotVersion || h.Config.Dim != dim || h.Config.EfSearch != 40 || h.Live != ix.Len() || h.Nodes < h.Live {
		t.Fatalf("header = %+v, live %d", h, ix.Len())
	}
	got, err := Load(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != ix.Len() || got.Stamp() != 12345 || got.Config() != ix.Config() {
		t.Fatalf("loaded Len %d stamp %d config %+v; want %d, 12345, %+v", got.Len(), got.Stamp(), got.Config(), ix.Len(), ix.Config())
	}
	q := make([]float32, dim)
	filters := []*Filter{nil, {Categories: []string{"shoes"}}, {Availability: []string{"preorder"}, MaxPrice: 300}}
	for i := range 300 {
		gen.Fill(q)
		f := filters[i%len(filters)]
		a, err1 := ix.Search(q, 10, f)
		b, err2 := got.Search(q, 10, f)
		if err1 != nil || err2 != nil || !slices.Equal(a, b) {
			t.Fatalf("query %d: before %v (%v), after load %v (%v)", i, a, err1, b, err2)
		}
	}
	// The loaded index keeps working as a normal index.
	v := make([]float32, dim)
	gen.Fill(v)
	if err := got.Upsert("new", v, Attrs{}); err != nil {
		t.Fatal(err)
	}
	if hs, _ := got.Search(v, 1, nil); len(hs) != 1 || hs[0].ID != "new" {
		t.Fatalf("search after upsert on loaded index: %v", hs)
	}
	if !got.Delete("1") || got.Has("1") {
		t.Fatal("delete on loaded index failed")
	}
	// Saving the loaded index gives the same bytes as the original (before
	// the changes above) — the format is deterministic.
	again, err := Load(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var buf2 bytes.Buffer
	if err := again.Save(&buf2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), buf2.Bytes()) {
		t.Fatal("re-saved snapshot differs")
	}
}

func TestSnapshotEmptyIndex(t *testing.T) {
	ix, err := New(Config{Dim: 8})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := ix.Save(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := Load(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != 0 || got.Dim() != 8 {
		t.Fatalf("Len %d Dim %d", got.Len(), got.Dim())
	}
	if err := got.Upsert("a", []float32{1, 2, 3, 4, 5, 6, 7, 8}, Attrs{}); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptSnapshot(t *testing.T) {
	ix, _, _ := fixture(t, 300, Config{Dim: 8}, catalogAttrs)
	var buf bytes.Buffer
	if err := ix.Save(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()

	// Every truncation fails cleanly.
	for n := 0; n < len(good); n += 1 + n/50 {
		if _, err := Load(bytes.NewReader(good[:n])); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d of %d bytes: err = %v", n, len(good), err)
		}
	}
	if _, err := Load(bytes.NewReader(good[:len(good)-1])); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("missing last byte: err = %v", err)
	}
	// Any flipped byte fails cleanly (the checksum catches what the
	// structural checks do not).
	for i := 0; i < len(good); i += 1 + i/40 {
		bad := slices.Clone(good)
		bad[i] ^= 0x5a
		_, err := Load(bytes.NewReader(bad))
		if err == nil {
			t.Fatalf("flipped byte %d: loaded", i)
		}
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
			t.Fatalf("flipped byte %d: err = %v", i, err)
		}
	}
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrCorrupt},
		{"not a snapshot", []byte("this is a text file, not an index snapshot at all"), ErrCorrupt},
		{"future version", append([]byte(snapshotMagic), 9, 0, 0, 0), ErrVersion},
	} {
		if _, err := Load(bytes.NewReader(tc.data)); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
		if _, err := ReadHeader(bytes.NewReader(tc.data)); !errors.Is(err, tc.want) {
			t.Errorf("%s: ReadHeader err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestCraftedSnapshotLinks writes a snapshot whose checksum is valid but
// whose upper-layer link points at a base-layer-only node: Load must refuse
// it rather than let a search index out of range.
func TestCraftedSnapshotLinks(t *testing.T) {
	ix, _, _ := fixture(t, 400, Config{Dim: 4, M: 4}, nil)
	ix.mu.Lock()
	var hi, lo = -1, -1
	for i, l := range ix.levels {
		if l >= 1 && hi < 0 && int64(i) != ix.entry {
			hi = i
		}
		if l == 0 && lo < 0 {
			lo = i
		}
	}
	if hi < 0 || lo < 0 {
		ix.mu.Unlock()
		t.Fatal("fixture has no suitable nodes")
	}
	sl := ix.linkSlot(uint32(hi), 1)
	sl[0] = 1
	sl[1] = uint32(lo)
	ix.mu.Unlock()
	var buf bytes.Buffer
	if err := ix.Save(&buf); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(&buf); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v, want ErrCorrupt", err)
	}
}
