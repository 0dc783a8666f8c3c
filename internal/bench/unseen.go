package bench

import (
	"encoding/csv"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The unseen set. Real footage mostly shows garments a shop does not sell,
// often close look-alikes of ones it does: the brand's own reels against
// its catalog are like that. Neither the positive sets (every product on
// screen is in the catalog) nor the negative videos (nothing like a
// catalog garment) measure the hotspots published there, and the
// confidence calibration learns nothing about them. So the bench holds
// some on-model products out of the import and makes lookbook reels of
// them alone: every item published on those reels is a look-alike shown
// as if it were the product on screen.

// unseenMod holds out one product family in unseenMod.
const unseenMod = 8

// unseenSeedOffset moves the unseen reels' seeds away from the lookbook
// set's, so their layouts differ too.
const unseenSeedOffset = 500

// minSplit is the fewest products either side of a split may have; a
// smaller on-model catalog is imported whole, without an unseen set.
const minSplit = 8

// catalogSplit is an on-model catalog divided into the products imported
// (seen) and those held out (unseen); each is a catalog directory.
type catalogSplit struct {
	seen, unseen string
}

// splitCatalog writes the seen and unseen parts of the on-model catalog in
// dir as out/seen/<name> and out/unseen/<name> (products.csv and the
// images they name, linked or copied), where name is dir's base name.
// Products are grouped in families by the first word of their name (a
// co-ord's top and skirt share it and are photographed together, so a
// held-out top's photo would show a seen skirt) and whole families are held
// out, one in unseenMod, by a hash of the family and the seed: another
// seed holds out other products. A catalog too small to split, or without
// names, is returned whole as the seen part.
func splitCatalog(dir, out string, seed uint64) (catalogSplit, error) {
	whole := catalogSplit{seen: dir}
	f, err := os.Open(filepath.Join(dir, "products.csv"))
	if err != nil {
		return whole, fmt.Errorf("split catalog: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		return whole, fmt.Errorf("split catalog: header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	idCol, okID := col["id"]
	nameCol, okName := col["name"]
	imgCol, okImg := col["image"]
	if !okID || !okImg {
		return whole, errors.New("split catalog: products.csv needs columns id and image")
	}
	if !okName {
		return whole, nil
	}
	var seen, unseen [][]string
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return whole, fmt.Errorf("split catalog: line %d: %w", line, err)
		}
		if len(rec) <= max(idCol, nameCol, imgCol) {
			continue
		}
		if heldOut(family(rec[nameCol], rec[idCol]), seed) {
			unseen = append(unseen, rec)
		} else {
			seen = append(seen, rec)
		}
	}
	if len(seen) < minSplit || len(unseen) < minSplit {
		return whole, nil
	}
	name := filepath.Base(filepath.Clean(dir))
	split := catalogSplit{seen: filepath.Join(out, "seen", name), unseen: filepath.Join(out, "unseen", name)}
	for _, part := range []struct {
		to   string
		rows [][]string
	}{{split.seen, seen}, {split.unseen, unseen}} {
		if err := writeCatalog(dir, part.to, head, part.rows, imgCol); err != nil {
			return whole, fmt.Errorf("split catalog: %w", err)
		}
	}
	return split, nil
}

// family is the product family of a product named name: the first word
// of the name, or the id when the name is empty.
func family(name, id string) string {
	w := strings.FieldsFunc(name, func(r rune) bool { return r == ' ' || r == '|' || r == ',' })
	if len(w) == 0 {
		return "id:" + id
	}
	return strings.ToLower(w[0])
}

// heldOut reports whether a product family is held out under seed.
func heldOut(fam string, seed uint64) bool {
	h := fnv.New64a()
	h.Write([]byte(strconv.FormatUint(seed, 10) + "/" + fam))
	return h.Sum64()%unseenMod == 0
}

// writeCatalog writes a catalog of rows (under head) in to, with the
// images that rows name relative to from linked or copied beside it.
func writeCatalog(from, to string, head []string, rows [][]string, imgCol int) error {
	if err := os.MkdirAll(to, 0o755); err != nil {
		return err
	}
	for _, rec := range rows {
		img := rec[imgCol]
		if img == "" || filepath.IsAbs(img) || strings.Contains(img, "://") {
			continue
		}
		rel := filepath.Clean(img)
		if rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue
		}
		if err := linkOrCopy(filepath.Join(from, rel), filepath.Join(to, rel)); err != nil {
			return err
		}
	}
	tmp := filepath.Join(to, "products.csv.tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write(head)
	w.WriteAll(rows)
	if err := errors.Join(w.Error(), f.Close()); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(to, "products.csv"))
}

// linkOrCopy makes dst hold src's bytes: a hard link where the file system
// allows, a copy otherwise. A missing src is left for the importer to
// report as it would for the whole catalog.
func linkOrCopy(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	os.Remove(dst)
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
