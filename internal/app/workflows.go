package app

import (
	"github.com/vitrine-dev/vitrine/internal/selftest"
)

// workflows registers every workflow kind on a.Runner. A domain adds one
// line here: a func that builds its definition from the App's services and
// calls a.Runner.Register.
var workflows = []func(a *App) error{
	func(a *App) error {
		a.Catalog = newCatalog(a)
		return a.Runner.Register(a.Catalog.Definition())
	},
	func(a *App) error {
		v, err := newVideo(a)
		if err != nil {
			return err
		}
		a.Video = v
		// An import's last stage stores what matching derives from its
		// products (verification features, colours, the appearance
		// index), ahead of the first video that needs them.
		a.Catalog.Prepare = v.PrepareCatalog
		// The embed stage hands over each product's decoded picture, so
		// its verification features cost no second decode.
		a.Catalog.Decoded = v.CatalogImageDecoded
		return v.Register(a.Runner)
	},
	func(a *App) error {
		return a.Runner.Register(selftest.Definition(selftest.Deps{
			DB: a.DB, Blob: a.Blob, ModelsDir: a.ModelsDir(), ORTLib: a.Config.ORTLib,
		}))
	},
}
