package commerce

import (
	"testing"

	"github.com/tidwall/gjson"
)

// FuzzMapProduct maps arbitrary shop JSON: a product comes out with a valid
// id and only http(s) links, or an error; never a panic.
func FuzzMapProduct(f *testing.F) {
	f.Add(`{"handle":"p1","name":"x","offer":{"price":"19.99","currency":"eur","availability":true},"media":[{"src":"https://a/b.jpg"}],"link":"https://shop/p1"}`)
	f.Add(`{"handle":"p/1","offer":{"price":[]}}`)
	f.Add(`{"handle":"p2","link":"javascript:alert(1)","offer":{"availability":"https://schema.org/OutOfStock"},"reviews":{"average":"NaN"}}`)
	f.Add(`[]`)
	u, err := NewUpstream(UpstreamConfig{ProductURL: "http://shop.invalid/{id}", Mapping: FieldMapping{
		ID: "handle", Title: "name", Images: "media.#.src", Price: "offer.price", Currency: "offer.currency",
		Availability: "offer.availability", Rating: "reviews.average", URL: "link"}}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		p, err := u.mapProduct(gjson.Parse(doc))
		if err != nil {
			return
		}
		if !ValidID(p.ID) {
			t.Fatalf("mapped an invalid id %q", p.ID)
		}
		if p.URL != "" && !webURL(p.URL) {
			t.Fatalf("mapped a non-http link %q", p.URL)
		}
		for _, img := range p.Images {
			if !webURL(img) {
				t.Fatalf("mapped a non-http image %q", img)
			}
		}
		switch p.Availability {
		case InStock, OutOfStock, PreOrder, Unknown:
		default:
			t.Fatalf("availability %q", p.Availability)
		}
	})
}
