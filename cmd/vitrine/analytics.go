package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/vitrine-dev/vitrine/internal/analytics"
	"github.com/vitrine-dev/vitrine/internal/app"
)

func init() {
	register("analytics", "player impressions, clicks and buys per video and product", func() command { return &analyticsCmd{} })
}

type analyticsCmd struct{}

func (c *analyticsCmd) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("analytics", "analytics videos | video ID | product ID | recent [VIDEO_ID] [flags]",
		"Reports what viewers did with shoppable videos, as counted from the\n"+
			"player's events: impressions (an item on screen for a second), clicks\n"+
			"(a product card opened) and buys (the buy link followed). Counts are\n"+
			"per UTC day; the range is the last --days days or --from/--to.")
	load := withConfig(fs)
	days := fs.Int("days", 30, "report the last N UTC days")
	from := fs.String("from", "", "first UTC day, YYYY-MM-DD (instead of --days)")
	to := fs.String("to", "", "last UTC day, YYYY-MM-DD (default today)")
	limit := fs.Int("limit", 100, "rows of videos and recent")
	asJSON := fs.Bool("json", false, "print JSON")
	report, rest, err := actionWord(fs, "analytics", "report (videos, video, product or recent)", args)
	if err != nil {
		return err
	}
	// Ids may come before or after the flags: analytics video ID --json.
	var pos []string
	for {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos, rest = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	arg := func(i int) string {
		if i < len(pos) {
			return pos[i]
		}
		return ""
	}
	q := map[string][]string{}
	if *from != "" || *to != "" {
		if *from != "" {
			q["from"] = []string{*from}
		}
		if *to != "" {
			q["to"] = []string{*to}
		}
	} else {
		q["days"] = []string{fmt.Sprint(*days)}
	}
	rg, err := analytics.ParseRange(q, time.Now())
	if err != nil {
		return fmt.Errorf("analytics: %w", err)
	}
	want := map[string]int{"videos": 0, "video": 1, "product": 1, "recent": -1}
	n, ok := want[report]
	if !ok {
		return fmt.Errorf("analytics: unknown report %q (want videos, video, product or recent)", report)
	}
	if n >= 0 && len(pos) != n || n < 0 && len(pos) > 1 {
		return fmt.Errorf("analytics %s: wrong number of arguments", report)
	}
	a, err := openApp(ctx, load, app.Options{})
	if err != nil {
		return fmt.Errorf("analytics: %w", err)
	}
	defer a.Close(ctx)
	st := analytics.NewStore(a.DB, 0)
	var out any
	switch report {
	case "videos":
		rows, err := st.Videos(ctx, rg, *limit)
		if err != nil {
			return err
		}
		out = rows
		if !*asJSON {
			printRowsTitled(stdout, "VIDEO", rows, nil)
		}
	case "video", "product":
		get := st.VideoReport
		group := "PRODUCT"
		if report == "product" {
			get, group = st.ProductReport, "VIDEO"
		}
		rep, err := get(ctx, arg(0), rg)
		if err != nil {
			return err
		}
		out = rep
		if !*asJSON {
			fmt.Fprintf(stdout, "%s %s, %s to %s: %d impressions, %d clicks, %d buys, %d added to cart, CTR %.1f%%\n\n",
				report, rep.ID, rep.From, rep.To, rep.Total.Impressions, rep.Total.Clicks, rep.Total.Buys, rep.Total.AddToCart, 100*rep.Total.CTR)
			titles := map[string]string{}
			if report == "video" && a.Catalog != nil {
				ids := make([]string, 0, len(rep.Rows))
				for _, r := range rep.Rows {
					ids = append(ids, r.ID)
				}
				// Titles are a convenience: a catalog error only leaves them out.
				if ps, err := a.Catalog.Store.GetMany(ctx, ids); err == nil {
					for _, p := range ps {
						titles[p.ID] = p.Title
					}
				}
			}
			printRowsTitled(stdout, group, rep.Rows, titles)
		}
	case "recent":
		recs, err := st.Recent(ctx, arg(0), *limit)
		if err != nil {
			return err
		}
		out = recs
		if !*asJSON {
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "AT\tTYPE\tVIDEO\tITEM\tPRODUCT\tT\tORIGIN")
			for _, r := range recs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.1f\t%s\n", r.At.Format(time.RFC3339), r.Type, r.VideoID, r.ItemID, r.ProductID, r.T, r.Origin)
			}
			tw.Flush()
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	return nil
}

// printRowsTitled prints counts per id, with a title column when titles
// has any.
func printRowsTitled(w io.Writer, first string, rows []analytics.Row, titles map[string]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(titles) > 0 {
		fmt.Fprintf(tw, "%s\tTITLE\tIMPRESSIONS\tCLICKS\tBUYS\tCTR\n", first)
	} else {
		fmt.Fprintf(tw, "%s\tIMPRESSIONS\tCLICKS\tBUYS\tCTR\n", first)
	}
	for _, r := range rows {
		id := r.ID
		if id == "" {
			id = "(no product)"
		}
		if len(titles) > 0 {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.1f%%\n", id, titles[r.ID], r.Impressions, r.Clicks, r.Buys, 100*r.CTR)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.1f%%\n", id, r.Impressions, r.Clicks, r.Buys, 100*r.CTR)
	}
	tw.Flush()
}
