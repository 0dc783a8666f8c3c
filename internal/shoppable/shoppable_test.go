package shoppable

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func exampleDoc(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "example.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mutate decodes the example, applies fn to the generic JSON tree and
// re-encodes it.
func mutate(t *testing.T, fn func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(exampleDoc(t), &m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func item(m map[string]any, i int) map[string]any {
	return m["items"].([]any)[i].(map[string]any)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		doc     func(t *testing.T) []byte
		wantErr string
	}{
		{"example is valid", exampleDoc, ""},
		{"not json", func(*testing.T) []byte { return []byte("{nope") }, "not JSON"},
		{"wrong schema name", func(t *testing.T) []byte {
			return mutate(t, func(m map[string]any) { m["schema"] = "vitrine.shoppable/v2" })
		}, "schema"},
		{"missing items", func(t *testing.T) []byte {
			return mutate(t, func(m map[string]any) { delete(m, "items") })
		}, "items"},
		{"box outside 0..1", func(t *testing.T) []byte {
			return mutate(t, func(m map[string]any) {
				item(m, 0)["boxes"].([]any)[0].(map[string]any)["x"] = 1.5
			})
		}, "maximum"},
		{"unknown review state", func(t *testing.T) []byte {
			return mutate(t, func(m map[string]any) { item(m, 0)["review"] = "maybe" })
		}, "review"},
		{"replaced without product", func(t *testing.T) []byte {
			return mutate(t, func(m map[string]any) { delete(item(m, 1), "product_id") })
		}, "product_id"},
		{"unknown transition", func(t *testing.T) []byte {
			return mutate(t, func(m map[string]any) { m["shots"].([]any)[1].(map[string]any)["transition"] = "iris" })
		}, "transition"},
		{"extra field", func(t *testing.T) []byte {
			return mutate(t, func(m map[string]any) { m["extra"] = true })
		}, "extra"},
		{"bad timestamp", func(t *testing.T) []byte {
			return mutate(t, func(m map[string]any) { m["generated_at"] = "yesterday" })
		}, "date-time"},
		{"score above 1", func(t *testing.T) []byte {
			return mutate(t, func(m map[string]any) {
				item(m, 0)["matches"].([]any)[0].(map[string]any)["score"] = 3
			})
		}, "maximum"},
		{"no boxes", func(t *testing.T) []byte {
			return mutate(t, func(m map[string]any) { item(m, 0)["boxes"] = []any{} })
		}, "minItems"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.doc(t))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted an invalid document (want error mentioning %q)", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %q does not mention %q", err, tc.wantErr)
			}
		})
	}
}

func TestParseChecksSemantics(t *testing.T) {
	tests := []struct {
		name    string
		fn      func(m map[string]any)
		wantErr string
	}{
		{"item in missing shot", func(m map[string]any) { item(m, 0)["shot"] = 9 }, "missing shot 9"},
		{"item outside its shot", func(m map[string]any) { item(m, 0)["end_s"] = 6.0 }, "outside shot"},
		{"duplicate ids", func(m map[string]any) { item(m, 1)["id"] = "t1" }, "twice"},
		{"box after item end", func(m map[string]any) {
			item(m, 0)["boxes"].([]any)[1].(map[string]any)["t"] = 3.9
		}, "outside the item's span"},
		{"box leaves frame", func(m map[string]any) {
			item(m, 0)["boxes"].([]any)[0].(map[string]any)["x"] = 0.9
		}, "leaves the frame"},
		{"matches unranked", func(m map[string]any) {
			item(m, 0)["matches"].([]any)[1].(map[string]any)["score"] = 0.9
		}, "ranked"},
	}
	if _, err := Parse(exampleDoc(t)); err != nil {
		t.Fatalf("Parse(example): %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(mutate(t, tc.fn))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Parse error = %v, want one mentioning %q", err, tc.wantErr)
			}
		})
	}
}

func TestMarshalNormalizesAndValidates(t *testing.T) {
	d := Document{
		Version:     1,
		GeneratedAt: time.Date(2026, 11, 25, 1, 2, 3, 0, time.UTC),
		Video:       Video{ID: "v", DurationS: 10, Width: 640, Height: 360, FPS: 25},
		Models:      Models{Detector: "d", Embedder: "e", CatalogVersion: "1"},
		Shots: []Shot{
			{Index: 1, StartS: 5, EndS: 10, Transition: TransitionCut},
			{Index: 0, StartS: 0, EndS: 5, Transition: TransitionNone},
		},
		Items: []Item{
			{ID: "b", Label: "tie", Shot: 1, StartS: 6, EndS: 7, Boxes: []Box{NormBox(7, 10, 10, 100, 100, 640, 360), NormBox(6, -20, 300, 700, 400, 640, 360)},
				Matches: []Match{{"p1", 0.2}, {"p2", 0.7}}},
			{ID: "a", Label: "cup", Shot: 0, StartS: 1, EndS: 1, Boxes: []Box{NormBox(1, 0, 0, 64, 36, 640, 360)}},
		},
	}
	b, err := d.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse(Marshal()): %v", err)
	}
	if got.Schema != SchemaName || got.Shots[0].Index != 0 || got.Items[0].ID != "a" {
		t.Fatalf("not normalised: %+v", got)
	}
	b0 := got.Items[1].Boxes[0]
	if b0.T != 6 || b0.X != 0 || b0.W != 1 || b0.Y != 0.8333 || b0.H != 0.1667 {
		t.Fatalf("clipped box = %+v", b0)
	}
	if got.Items[1].Matches[0].ProductID != "p2" || got.Items[0].Review != ReviewAuto || got.Items[0].Matches == nil {
		t.Fatalf("matches/review not normalised: %+v", got.Items)
	}
	if !bytes.Contains(b, []byte(`"matches": []`)) {
		t.Fatalf("empty matches must encode as []:\n%s", b)
	}
}

func TestMarshalRejectsInconsistentDocument(t *testing.T) {
	d := Document{Version: 1, Video: Video{ID: "v", DurationS: 1, Width: 1, Height: 1, FPS: 1},
		Items: []Item{{ID: "x", Label: "cup", Shot: 3, Boxes: []Box{{}}}}}
	if _, err := d.Marshal(); err == nil {
		t.Fatal("Marshal accepted an item in a shot that does not exist")
	}
}
