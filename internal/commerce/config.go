package commerce

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/BurntSushi/toml"
)

// Config is the commerce section of an installation, read from a TOML file:
//
//	max_alternatives = 3
//	demo_origins = ["https://vitrine.example.com"]
//
//	[cache]
//	ttl = "1m"
//	stale_while_revalidate = "10m"
//
//	[upstream]            # omit to serve the built-in catalog
//	batch_url = "https://shop.example/api/products?ids={ids}"
//	product_url = "https://shop.example/api/products/{id}"
//	items_path = "data.items"
//	product_path = "product"
//	auth_header = "Authorization"
//	auth_value = "Bearer …"
//	[upstream.mapping]
//	id = "handle"
//	price = "variants.0.price"
type Config struct {
	Upstream        *UpstreamConfig `toml:"upstream"`
	Cache           CacheConfig     `toml:"cache"`
	MaxAlternatives int             `toml:"max_alternatives"`
	// DemoOrigins may use the demo page's automatic publishable key, next
	// to loopback addresses.
	DemoOrigins []string `toml:"demo_origins"`
}

// LoadConfig reads path; a missing file is the default configuration.
func LoadConfig(path string) (Config, error) {
	var c Config
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("commerce: read config: %w", err)
	}
	md, err := toml.Decode(string(b), &c)
	if err != nil {
		return c, fmt.Errorf("commerce: config %s: %w", path, err)
	}
	if un := md.Undecoded(); len(un) > 0 {
		return c, fmt.Errorf("commerce: config %s: unknown key %s", path, un[0])
	}
	if c.Upstream != nil {
		if _, err := NewUpstream(*c.Upstream, nil); err != nil {
			return c, fmt.Errorf("commerce: config %s: %w", path, err)
		}
	}
	for _, o := range c.DemoOrigins {
		if _, err := NormalizeOrigin(o); err != nil {
			return c, fmt.Errorf("commerce: config %s: demo_origins: %w", path, err)
		}
	}
	return c, nil
}
