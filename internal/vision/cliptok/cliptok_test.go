package cliptok

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestByteMapIsReversible(t *testing.T) {
	m := bytesToRunes()
	seen := map[rune]bool{}
	for b, r := range m {
		if seen[r] {
			t.Fatalf("byte %d maps to duplicate rune %q", b, r)
		}
		seen[r] = true
	}
	if m['a'] != 'a' || m[' '] != 'Ġ' || m[0xC3] != 'Ã' {
		t.Fatalf("unexpected mapping: a=%q space=%q 0xC3=%q", m['a'], m[' '], m[0xC3])
	}
}

func TestEncodeAndFrame(t *testing.T) {
	dir := filepath.Join("testdata")
	tok, err := Load(filepath.Join(dir, "vocab.json"), filepath.Join(dir, "merges.txt"))
	if err != nil {
		t.Fatal(err)
	}
	id := func(s string) int {
		v, ok := tok.vocab[s]
		if !ok {
			t.Fatalf("token %q not in test vocab", s)
		}
		return v
	}
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"red dress", []string{"red</w>", "dress</w>"}},
		{"  Red   DRESS ", []string{"red</w>", "dress</w>"}},
		{"reds", []string{"re", "d", "s</w>"}},
		{"shirt!", []string{"shirt</w>", "!</w>"}},
		{"a red&amp;shirt", []string{"a</w>", "red</w>", "&</w>", "shirt</w>"}},
		{"café", []string{"c", "a", "f", "Ã©</w>"}},
		{"", nil},
	} {
		t.Run(tc.text, func(t *testing.T) {
			var want []int
			for _, s := range tc.want {
				want = append(want, id(s))
			}
			if got := tok.Encode(tc.text); !slices.Equal(got, want) {
				t.Fatalf("Encode(%q) = %v, want %v (%v)", tc.text, got, want, tc.want)
			}
		})
	}

	ids, mask, err := tok.Frame("red dress", 6, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs := []int64{int64(tok.StartID()), int64(id("red</w>")), int64(id("dress</w>")), int64(tok.EndID()), 0, 0}
	if !slices.Equal(ids, wantIDs) || !slices.Equal(mask, []int64{1, 1, 1, 1, 0, 0}) {
		t.Fatalf("Frame = %v %v, want %v", ids, mask, wantIDs)
	}
	// Truncation keeps the end token.
	ids, _, err = tok.Frame("red dress red dress", 4, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ids[3] != int64(tok.EndID()) || ids[1] != int64(id("red</w>")) {
		t.Fatalf("truncated Frame = %v", ids)
	}
	if _, _, err := tok.Frame("x", 1, 0); err == nil {
		t.Error("context length 1: want an error")
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := filepath.Join("testdata", "vocab.json")
	merges := filepath.Join("testdata", "merges.txt")
	for _, tc := range []struct {
		name          string
		vocab, merges string
		want          string
	}{
		{"missing vocab", filepath.Join(dir, "nope.json"), merges, "open vocab"},
		{"bad json", write("bad.json", "{"), merges, "parse vocab"},
		{"no special tokens", write("nospecial.json", `{"a</w>": 0}`), merges, "startoftext"},
		{"bad merge line", good, write("bad.txt", "#version: 0.2\na b c\n"), "merges line 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.vocab, tc.merges)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
