package api

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/commerce/shoptest"
	"github.com/vitrine-dev/vitrine/internal/crypt"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// TestSealedUpstreamCredential: the shop credential in commerce.toml can
// be sealed with the installation's KEK; the server opens it and the shop
// accepts it. Without the KEK, or with another one, the commerce services
// refuse to start with a clear error instead of sending a wrong credential.
func TestSealedUpstreamCredential(t *testing.T) {
	shop, err := shoptest.Start(testenv.Samples(t))
	if err != nil {
		t.Fatal(err)
	}
	defer shop.Close()
	kek, _ := crypt.GenerateKey()
	other, _ := crypt.GenerateKey()
	kr, err := crypt.LoadKeyring(kek, "")
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := kr.Seal([]byte("Bearer "+shoptest.Token), UpstreamAuthContext)
	if err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`
[upstream]
batch_url = "%[1]s/api/products?ids={ids}"
product_url = "%[1]s/api/products/{id}"
items_path = "data.items"
product_path = "product"
auth_header = "Authorization"
auth_value = "%[2]s"

[upstream.mapping]
id = "handle"
title = "name"
price = "offer.price"
currency = "offer.currency"
url = "link"
`, shop.URL, sealed)
	it, _ := shop.Item("16647")
	tests := []struct {
		name   string
		vars   map[string]string
		status int
		want   string
	}{
		{"right key", map[string]string{"VITRINE_KEK": kek}, 200, it.Name},
		{"no key", nil, 503, "no key-encryption key"},
		{"other key", map[string]string{"VITRINE_KEK": other}, 503, "not configured"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newShopEnvWith(t, tc.vars)
			if err := os.WriteFile(filepath.Join(e.dir, "commerce.toml"), []byte(conf), 0o600); err != nil {
				t.Fatal(err)
			}
			st, _, raw := e.req(t, "POST", "/v1/publishable-keys", e.admin, "", `{"origins":["https://blog.example"]}`)
			var pk struct{ Key string }
			if tc.status == 200 && (st != 201 || json.Unmarshal(raw, &pk) != nil) {
				t.Fatalf("create key: %d %s", st, raw)
			}
			st, _, raw = e.req(t, "GET", "/public/v1/products/16647?key="+pk.Key, "", "https://blog.example", "")
			if st != tc.status || !strings.Contains(string(raw), tc.want) {
				t.Errorf("%d %s, want %d with %q", st, raw, tc.status, tc.want)
			}
			if strings.Contains(string(raw), shoptest.Token) {
				t.Error("the credential leaked into a response")
			}
		})
	}
}
