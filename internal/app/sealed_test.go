package app

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/crypt"
)

// TestSealedWebhookSecret: VITRINE_WEBHOOK_SECRET may be sealed with the
// KEK; an install without the right KEK refuses to start rather than sign
// webhooks with the sealed text.
func TestSealedWebhookSecret(t *testing.T) {
	kek, _ := crypt.GenerateKey()
	other, _ := crypt.GenerateKey()
	kr, _ := crypt.LoadKeyring(kek, "")
	sealed, err := kr.Seal([]byte("whsec_test"), WebhookSecretContext)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("VITRINE_WEBHOOK_SECRET", sealed)
	tests := []struct{ name, kek, wantErr string }{
		{"right key", kek, ""},
		{"no key", "", "no key-encryption key"},
		{"other key", other, "not configured"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, t.TempDir())
			cfg.KEK = tc.kek
			a, err := Open(context.Background(), cfg, slog.New(slog.DiscardHandler), Options{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), "VITRINE_WEBHOOK_SECRET") || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("open: %v, want an error about VITRINE_WEBHOOK_SECRET with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close(context.Background())
			got, err := openSealed(a, sealed, WebhookSecretContext)
			if err != nil || got != "whsec_test" {
				t.Errorf("openSealed: %q %v", got, err)
			}
			if got, _ := openSealed(a, "plain", WebhookSecretContext); got != "plain" {
				t.Errorf("a plain value changed: %q", got)
			}
		})
	}
}
