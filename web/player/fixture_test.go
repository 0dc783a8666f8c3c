package player

import (
	"os"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/shoppable"
)

// The fixture is a document in the real format: keep it valid.
func TestFixtureIsAValidDocument(t *testing.T) {
	b, err := os.ReadFile("testdata/turntable.shoppable.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := shoppable.Validate(b); err != nil {
		t.Fatal(err)
	}
}
