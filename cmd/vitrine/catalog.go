package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/schollz/progressbar/v3"

	"github.com/vitrine-dev/vitrine/internal/app"
	"github.com/vitrine-dev/vitrine/internal/catalog"
)

func init() {
	register("catalog", "import, search and manage the product catalog", func() command { return &catalogCmd{} })
}

type catalogCmd struct{}

const catalogUsage = `Usage: vitrine catalog <subcommand> [flags] [args]

Subcommands:
  import PATH           import a catalog file: CSV, JSONL or a shop feed (Merchant Center, Shopify, JSON-LD)
  sync URL|FILE         import a shop feed again when it changed; mark products it dropped removed
  search --text Q       full-text search (semantic when a text encoder is installed)
  search --image FILE   detect the items of an image and find matching products per item
  similar ID            products visually similar to a product
  get ID                print a product as JSON
  delete ID...          remove products from the catalog and the index

Run 'vitrine catalog <subcommand> --help' for its flags.`

func (c *catalogCmd) Run(ctx context.Context, args []string) error {
	return dispatch(ctx, "catalog", catalogUsage, map[string]subcommand{
		"import": c.importCmd, "search": c.searchCmd, "similar": c.similarCmd,
		"get": c.getCmd, "delete": c.deleteCmd, "sync": c.syncCmd,
	}, args)
}

func (c *catalogCmd) importCmd(ctx context.Context, args []string) error {
	fs := newFlagSet("catalog import", "catalog import [flags] PATH",
		"Imports a product file (CSV, JSONL or a shop export; for a directory, its one\n"+
			"products.* file) through the catalog workflow (parse,\n"+
			"fetch, embed, index, features), shows its progress and prints a summary: added,\n"+
			"updated, unchanged and failed rows, with the reason of each failure.\n"+
			"The batch is succeeded, partial (some rows failed) or failed. Exits\n"+
			"non-zero on file-level errors (unreadable file, unknown format, no\n"+
			"product id column) and when every row failed; a partial batch exits 0.\n"+
			"When a server owns the data directory\n"+
			"the server runs the workflow and this command follows it.")
	load := withConfig(fs)
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	detach := fs.Bool("detach", false, "print the batch and workflow ids and return without waiting")
	quiet := fs.Bool("quiet", false, "no progress bar")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof); the stages run in this process unless a server owns the data directory")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return errors.New("catalog import: want exactly one PATH")
	}
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return fmt.Errorf("catalog import: %w", err)
	}
	defer stopProfile()
	a, err := openApp(ctx, quietForBar(load, *quiet), app.Options{RunSteps: true})
	if err != nil {
		return fmt.Errorf("catalog import: %w", err)
	}
	defer a.Close(ctx)
	if err := a.Start(ctx); err != nil {
		return fmt.Errorf("catalog import: %w", err)
	}
	path, err := catalogFile(pos[0])
	if err != nil {
		return fmt.Errorf("catalog import: %w", err)
	}
	batch, wf, err := a.Catalog.EnqueueFile(ctx, a.Runner, path)
	if err != nil {
		return err
	}
	if *detach {
		fmt.Fprintf(stdout, "{\"batch\": %d, \"workflow_id\": %d}\n", batch, wf)
		return nil
	}
	var bar *progressbar.ProgressBar
	step := ""
	progress := func(p catalog.Progress) {
		if *quiet {
			return
		}
		if p.Step != step {
			if bar != nil {
				bar.Finish()
				fmt.Fprintln(stderr)
			}
			step = p.Step
			bar = progressbar.NewOptions64(max(p.Total, 1),
				progressbar.OptionSetWriter(stderr),
				progressbar.OptionSetDescription(fmt.Sprintf("%-6s", p.Step)),
				progressbar.OptionShowCount(),
				progressbar.OptionSetWidth(30),
				progressbar.OptionThrottle(100_000_000),
				progressbar.OptionSetPredictTime(true))
		}
		if p.Total > 0 {
			bar.ChangeMax64(p.Total)
		}
		bar.Set64(p.Done)
	}
	s, err := a.Catalog.Wait(ctx, a.Runner, batch, wf, progress)
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(stderr)
	}
	if err != nil && s.Batch == 0 {
		return fmt.Errorf("catalog import: %w", err)
	}
	if *asJSON {
		printJSON(s)
	} else {
		fmt.Fprintf(stdout, "batch %d %s: %d rows: %d added, %d updated, %d unchanged, %d failed (catalog version %d)\n",
			s.Batch, s.Outcome, s.Total, s.Added, s.Updated, s.Unchanged, s.Failed, s.Version)
		for _, e := range s.Errors {
			id := e.ProductID
			if id == "" {
				id = "-"
			}
			fmt.Fprintf(stdout, "  line %d (%s): %s\n", e.Line, id, e.Reason)
		}
		if s.Failed > len(s.Errors) {
			fmt.Fprintf(stdout, "  … %d more failed rows (GET /v1/catalog/batches/%d)\n", s.Failed-len(s.Errors), s.Batch)
		}
		if s.Hint != "" {
			fmt.Fprintf(stdout, "hint: %s\n", s.Hint)
		}
	}
	if err != nil {
		return fmt.Errorf("catalog import: workflow %d: %w", wf, err)
	}
	if s.Outcome == catalog.BatchFailed {
		// The file read fine but nothing got in: that is not a success.
		return fmt.Errorf("catalog import: batch %d failed: all %d rows failed", s.Batch, s.Total)
	}
	return nil
}

// searchFlags registers k and the filter flags.
func searchFlags(fs *flag.FlagSet) (*int, func() (catalog.Filter, error)) {
	k := fs.Int("k", 10, "number of results (1..200)")
	cat := fs.String("category", "", "only these categories (comma-separated)")
	avail := fs.String("availability", "", "only these availabilities (comma-separated: in_stock, out_of_stock, preorder)")
	minP := fs.Float64("min-price", 0, "lowest price (0: unbounded)")
	maxP := fs.Float64("max-price", 0, "highest price (0: unbounded)")
	return k, func() (catalog.Filter, error) {
		f := catalog.Filter{MinPrice: *minP, MaxPrice: *maxP}
		if *k < 1 || *k > 200 {
			return f, errors.New("--k must be between 1 and 200")
		}
		if *minP < 0 || *maxP < 0 {
			return f, errors.New("prices must not be negative")
		}
		if *cat != "" {
			f.Categories = strings.Split(*cat, ",")
		}
		if *avail != "" {
			for _, s := range strings.Split(*avail, ",") {
				a, err := catalog.ParseAvailability(s)
				if err != nil {
					return f, err
				}
				f.Availability = append(f.Availability, a)
			}
		}
		return f, nil
	}
}

func printResults(rs []catalog.Result, indent string) {
	if len(rs) == 0 {
		fmt.Fprintln(stdout, indent+"(no results)")
	}
	for i, r := range rs {
		price := ""
		if r.Product.Price != nil {
			price = fmt.Sprintf("  %.2f %s", *r.Product.Price, r.Product.Currency)
		}
		fmt.Fprintf(stdout, "%s%2d. %-12s %.3f  %s [%s]%s\n", indent, i+1, r.Product.ID, r.Score, r.Product.Title, r.Product.Category, price)
	}
}

func (c *catalogCmd) searchCmd(ctx context.Context, args []string) error {
	fs := newFlagSet("catalog search", "catalog search (--text Q | --image FILE) [flags]",
		"Searches the catalog by text (full-text over title, brand, category, colour\n"+
			"and attributes; semantic when a text encoder is installed) or by image\n"+
			"(each detected item, then the whole image, with its nearest products).")
	load := withConfig(fs)
	text := fs.String("text", "", "text query")
	imagePath := fs.String("image", "", "query image file")
	asJSON := fs.Bool("json", false, "print results as JSON")
	k, filter := searchFlags(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if (*text == "") == (*imagePath == "") || len(pos) > 0 {
		fs.Usage()
		return errors.New("catalog search: give exactly one of --text or --image")
	}
	f, err := filter()
	if err != nil {
		return fmt.Errorf("catalog search: %w", err)
	}
	a, err := openApp(ctx, load, app.Options{})
	if err != nil {
		return fmt.Errorf("catalog search: %w", err)
	}
	defer a.Close(ctx)
	if *text != "" {
		sr := &catalog.Searcher{Store: a.Catalog.Store}
		if loaded, err := a.Catalog.Searcher(ctx); err == nil {
			sr = loaded
		}
		rs, err := sr.SearchText(ctx, *text, *k, f)
		if err != nil {
			return fmt.Errorf("catalog search: %w", err)
		}
		if *asJSON {
			return printJSON(map[string]any{"results": rs})
		}
		printResults(rs, "")
		return nil
	}
	data, err := os.ReadFile(*imagePath)
	if err != nil {
		return fmt.Errorf("catalog search: %w", err)
	}
	sr, err := a.Catalog.Searcher(ctx)
	if err != nil {
		return fmt.Errorf("catalog search: %w", err)
	}
	items, err := sr.SearchImage(ctx, data, *k, f)
	if err != nil {
		return fmt.Errorf("catalog search: %w", err)
	}
	if *asJSON {
		return printJSON(map[string]any{"items": items})
	}
	for _, it := range items {
		b := it.Box
		fmt.Fprintf(stdout, "%s [%d,%d %dx%d]", it.Label, b.Min.X, b.Min.Y, b.Dx(), b.Dy())
		if it.Score > 0 {
			fmt.Fprintf(stdout, " %.2f", it.Score)
		}
		fmt.Fprintln(stdout)
		printResults(it.Results, "  ")
	}
	return nil
}

func (c *catalogCmd) similarCmd(ctx context.Context, args []string) error {
	fs := newFlagSet("catalog similar", "catalog similar [flags] ID", "Lists the products visually closest to product ID.")
	load := withConfig(fs)
	asJSON := fs.Bool("json", false, "print results as JSON")
	k, filter := searchFlags(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return errors.New("catalog similar: want exactly one product ID")
	}
	f, err := filter()
	if err != nil {
		return fmt.Errorf("catalog similar: %w", err)
	}
	a, err := openApp(ctx, load, app.Options{})
	if err != nil {
		return fmt.Errorf("catalog similar: %w", err)
	}
	defer a.Close(ctx)
	sr, err := a.Catalog.Searcher(ctx)
	if err != nil {
		return fmt.Errorf("catalog similar: %w", err)
	}
	rs, err := sr.Similar(ctx, pos[0], *k, f)
	if err != nil {
		return fmt.Errorf("catalog similar: %w", err)
	}
	if *asJSON {
		return printJSON(map[string]any{"results": rs})
	}
	printResults(rs, "")
	return nil
}

func (c *catalogCmd) getCmd(ctx context.Context, args []string) error {
	fs := newFlagSet("catalog get", "catalog get [flags] ID", "Prints product ID as JSON.")
	load := withConfig(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return errors.New("catalog get: want exactly one product ID")
	}
	a, err := openApp(ctx, load, app.Options{})
	if err != nil {
		return fmt.Errorf("catalog get: %w", err)
	}
	defer a.Close(ctx)
	p, err := a.Catalog.Store.Get(ctx, pos[0])
	if err != nil {
		return err
	}
	return printJSON(p)
}

func (c *catalogCmd) deleteCmd(ctx context.Context, args []string) error {
	fs := newFlagSet("catalog delete", "catalog delete [flags] ID...",
		"Removes products with their images and vectors from the catalog and the\n"+
			"vector index. Unknown ids are reported and make the command fail.")
	load := withConfig(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.Usage()
		return errors.New("catalog delete: want at least one product ID")
	}
	a, err := openApp(ctx, load, app.Options{})
	if err != nil {
		return fmt.Errorf("catalog delete: %w", err)
	}
	defer a.Close(ctx)
	s, err := a.Catalog.Delete(ctx, pos)
	if err != nil {
		return fmt.Errorf("catalog delete: %w", err)
	}
	fmt.Fprintf(stdout, "%d deleted (catalog version %d)\n", s.Deleted, s.Version)
	for _, e := range s.Errors {
		fmt.Fprintf(stdout, "  %s: %s\n", e.ProductID, e.Reason)
	}
	if s.Failed > 0 {
		return fmt.Errorf("catalog delete: %d of %d ids unknown", s.Failed, s.Total)
	}
	return nil
}

// parseInterspersed parses flags that may follow positional arguments (as
// in "catalog import PATH --data-dir D") and returns the positionals.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// catalogFile returns the catalog file to import for path: path itself,
// or for a directory (a sample catalog, an unpacked export) its one
// products file (products.csv, products.jsonl, …), whose images the
// file's relative paths name.
func catalogFile(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil || !fi.IsDir() {
		return path, nil // the import reports a missing or unreadable file
	}
	var found []string
	for _, ext := range []string{".csv", ".jsonl", ".ndjson", ".tsv", ".txt", ".xml", ".json", ".jsonld"} {
		p := filepath.Join(path, "products"+ext)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", fmt.Errorf("%s is a directory without a products file (products.csv, products.jsonl, …): name the catalog file to import", path)
	}
	return "", fmt.Errorf("%s has several products files (%s): name the one to import", path, strings.Join(found, ", "))
}
