// Package player serves the embeddable shoppable-video player
// (<vitrine-player>, a dependency-free web component in
// static/vitrine-player.js) and a demo page that shows it on a processed
// video. Another site embeds the player with one script tag:
//
//	<script type="module" src="https://VITRINE/player/vitrine-player.js"></script>
//	<vitrine-player src="…mp4" video="VIDEO_ID" key="pk_…"></vitrine-player>
package player

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/vitrine-dev/vitrine/web/internal/assets"
)

//go:embed static
var static embed.FS

// ScriptName is the player module's file name under the mount point.
const ScriptName = "vitrine-player.js"

// FS returns the player's static files.
func FS() fs.FS { return assets.Sub(static, "static") }

// Handler serves the player's files at its root (mount it with
// http.StripPrefix). The script is served with CORS open to every origin:
// module scripts from another site are fetched in CORS mode, and the file
// is public.
func Handler() http.Handler {
	return assets.Handler(FS(), assets.Options{
		Headers: map[string]string{
			"Access-Control-Allow-Origin": "*",
			"Cache-Control":               "public, max-age=300",
		},
	})
}

// DemoVideo is what the demo page needs to know about a video.
type DemoVideo struct {
	ID    string
	Title string
	// Src is the URL the browser plays, absolute or relative to the page;
	// "{key}" in it is replaced by the page's publishable key.
	Src string
	// Width and Height size the page layout before the video loads.
	Width, Height int
}

// ErrNotFound is returned by a DemoSource for unknown or unprocessed videos.
var ErrNotFound = errors.New("player: video not found")

// DemoSource resolves a processed video and a publishable key valid for the
// page's origin (the page's own server, as a browser will see it).
type DemoSource interface {
	DemoVideo(ctx context.Context, id string) (DemoVideo, error)
	DemoKey(ctx context.Context, origin string) (string, error)
}

// Demo serves a page that plays one processed video in the player; the
// route must have an {id} path value.
type Demo struct {
	Source DemoSource
	// ScriptURL is where the page loads the player from.
	ScriptURL string
	// API is the vitrine base URL the player talks to ("" = the script's origin).
	API string
}

var demoPage = template.Must(template.New("demo").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Video.Title}} · vitrine demo</title>
<style>
 body { margin: 0; font: 15px/1.5 system-ui, sans-serif; background: #f6f6f4; color: #111; }
 main { max-width: {{.MaxWidth}}px; margin: 0 auto; padding: 12px 16px; }
 h1 { font-size: 18px; line-height: 1.3; margin: 0 0 10px; overflow-wrap: anywhere; display: -webkit-box; -webkit-line-clamp: 1; -webkit-box-orient: vertical; overflow: hidden; }
 {{if .Aspect}}/* The picture, controls and tray fit the window without scrolling:
    the player is as wide as the height left for the picture allows. */
 vitrine-player { margin: 0 auto; max-width: max(200px, calc((100vh - {{.Chrome}}px) * {{.Aspect}}));
   max-width: max(200px, calc((100svh - {{.Chrome}}px) * {{.Aspect}})); }{{end}}
 pre { background: #fff; border: 1px solid #ddd; padding: 10px; overflow-x: auto; font-size: 12px; }
</style>
<script type="module" src="{{.ScriptURL}}"></script>
</head>
<body>
<main>
<h1>{{.Video.Title}}</h1>
<vitrine-player id="player" src="{{.Video.Src}}" video="{{.Video.ID}}" key="{{.Key}}"{{if .API}} api="{{.API}}"{{end}}></vitrine-player>
<h2 style="font-size:15px">Embed it on your site</h2>
<pre>&lt;script type="module" src="{{.AbsScript}}"&gt;&lt;/script&gt;
&lt;vitrine-player src="{{.AbsSrc}}" video="{{.Video.ID}}" key="pk_…"&gt;&lt;/vitrine-player&gt;</pre>
<p>Create a publishable key for your site's origin first; it only opens the read path for pages on that origin.</p>
</main>
</body>
</html>
`))

// ServeHTTP renders the demo page for the video in the path.
func (d *Demo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id == "" || len(id) > 128 || strings.ContainsAny(id, "/\\?#%\"'<> ") {
		http.Error(w, "invalid video id", http.StatusBadRequest)
		return
	}
	v, err := d.Source.DemoVideo(r.Context(), id)
	if errors.Is(err, ErrNotFound) {
		http.Error(w, fmt.Sprintf("video %s is unknown or not processed yet", id), http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, "video lookup failed", http.StatusInternalServerError)
		return
	}
	origin := requestOrigin(r)
	key, err := d.Source.DemoKey(r.Context(), origin)
	if err != nil {
		http.Error(w, "no publishable key for the demo page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if v.Title == "" {
		v.Title = "Video " + v.ID
	}
	snippetSrc := strings.ReplaceAll(v.Src, "{key}", "pk_…")
	v.Src = strings.ReplaceAll(v.Src, "{key}", url.QueryEscape(key))
	maxW := 960
	if v.Width > 0 && v.Height > v.Width {
		maxW = 460 // vertical reels: keep the page phone-shaped
	}
	abs := func(u string) string {
		if strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
			return u
		}
		return origin + "/" + strings.TrimPrefix(u, "/")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	aspect := ""
	if v.Width > 0 && v.Height > 0 {
		aspect = strconv.FormatFloat(float64(v.Width)/float64(v.Height), 'f', 4, 64)
	}
	err = demoPage.Execute(w, map[string]any{
		"Video": v, "Key": key, "ScriptURL": d.ScriptURL, "API": d.API, "MaxWidth": maxW,
		"Aspect": aspect, "Chrome": demoChrome,
		"AbsScript": abs(d.ScriptURL), "AbsSrc": abs(snippetSrc),
	})
	if err != nil {
		// Headers are gone; all that is left is to stop writing.
		return
	}
}

// demoChrome is the height in CSS pixels the demo page needs around the
// picture to keep the player's controls and tray on screen: the title
// line, the control bar, the tray and the gaps between them.
const demoChrome = 196

// requestOrigin is the origin the browser used to reach this server.
func requestOrigin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
