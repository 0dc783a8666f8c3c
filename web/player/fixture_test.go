package player

import (
	"os"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/shoppable"
)

// The fixtures are documents in the real format: keep them valid.
func TestFixturesAreValidDocuments(t *testing.T) {
	for _, f := range []string{"testdata/turntable.shoppable.json", "testdata/reel.shoppable.json", "testdata/review.shoppable.json", "testdata/crowd.shoppable.json"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := shoppable.Validate(b); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
