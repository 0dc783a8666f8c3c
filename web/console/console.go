// Package console serves vitrine's operator console: a single-page app in
// plain JS and CSS (static/), mounted by the API server at /console/. The
// page talks to the server's /console/api and /v1 routes with the session
// cookie it gets at login; see internal/api/console.go.
package console

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/vitrine-dev/vitrine/web/internal/assets"
)

//go:embed static
var static embed.FS

// FS returns the console's static files.
func FS() fs.FS { return assets.Sub(static, "static") }

// contentSecurityPolicy keeps the console to its own scripts and styles;
// product images may come from the shop's servers.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data: blob: https: http:; media-src 'self' blob:; " +
	"script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Handler serves the console's files at its root (mount it with
// http.StripPrefix): "/" is the app page, other names are its assets.
func Handler() http.Handler {
	return assets.Handler(FS(), assets.Options{
		Index: "index.html",
		Headers: map[string]string{
			"Cache-Control":           "no-cache",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "same-origin",
			"Content-Security-Policy": contentSecurityPolicy,
		},
	})
}
