package api

// Catalog onboarding from the console: a merchant uploads a catalog file,
// or a ZIP holding one with the images it names, sees its columns, a few
// rows and whether its images can be read, maps the columns to product
// fields (remembered per source file name), and starts the import.
//
//	POST /console/api/catalog/uploads?name=F     raw body: .csv, .jsonl, … or .zip
//	POST /console/api/catalog/uploads/{id}/import {"mapping": {"title": "Product Name", …}}

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/vitrine-dev/vitrine/internal/catalog"
)

// Limits of a ZIP upload. Each image is cut at the catalog's image limit
// plus one byte, so an oversize image fails its row ("too large") as it
// does when the CLI imports a directory; the catalog file has the limit
// of a catalog upload.
const (
	maxCatalogZip   = 1 << 30 // bytes uploaded
	maxZipEntries   = 20000
	maxZipExtracted = 4 << 30 // bytes written out
	sampleRows      = 3
	inspectRows     = 200
)

// CatalogUpload is an uploaded catalog waiting for its column mapping.
type CatalogUpload struct {
	// Upload names the upload for the import call.
	Upload string `json:"upload"`
	// File is the catalog file (inside the ZIP, its path there).
	File   string `json:"file"`
	Format string `json:"format"`
	// Zip is the number of files a ZIP held (0 for a plain file).
	Zip int `json:"zip_files,omitempty"`
	// Mappable says the file's columns can be mapped (CSV and JSONL;
	// feeds such as a Shopify export carry their own).
	Mappable bool       `json:"mappable"`
	Columns  []string   `json:"columns,omitempty"`
	Sample   [][]string `json:"sample,omitempty"`
	// Mapping is field -> column: the one remembered for this source, or
	// the one the column names suggest.
	Mapping    map[string]string `json:"mapping,omitempty"`
	Remembered bool              `json:"remembered"`
	Fields     []string          `json:"fields,omitempty"`
	Images     ImageCheck        `json:"images"`
	// Needs says plainly what the file needs before its images can be
	// read ("" when nothing).
	Needs string `json:"needs,omitempty"`
}

// ImageCheck counts how the first rows name their images.
type ImageCheck struct {
	Rows int `json:"rows"`
	// URLs are http(s) links the server fetches; Blobs are uploaded
	// images; Paths are files named relative to the catalog file, Found of
	// them present beside it.
	URLs    int    `json:"urls"`
	Blobs   int    `json:"blobs"`
	Paths   int    `json:"paths"`
	Found   int    `json:"found"`
	Example string `json:"example,omitempty"`
}

var uploadID = regexp.MustCompile(`^upload-[0-9]{1,20}$`)

// catalogUploadDir is where uploaded catalogs wait and are read by their
// workflow: in the data directory, which the workflow's runner shares.
func (s *Server) catalogUploadDir() string {
	return filepath.Join(s.Config.DataDir, "uploads", "catalog")
}

// storeCatalogUpload writes the request body (a catalog file or a ZIP) to a
// new upload directory and returns it with the catalog file's path. It
// answers the request itself on error.
func (s *Server) storeCatalogUpload(w http.ResponseWriter, r *http.Request) (dir, file string, zipFiles int, ok bool) {
	name, err := uploadName(r, ".csv", ".jsonl", ".ndjson", ".tsv", ".txt", ".xml", ".json", ".jsonld", ".zip")
	if err != nil {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, err.Error()+" (or a .zip holding one with its images)")
		return "", "", 0, false
	}
	base := s.catalogUploadDir()
	if err := os.MkdirAll(base, 0o750); err != nil {
		s.catalogError(w, fmt.Errorf("console: catalog upload dir: %w", err))
		return "", "", 0, false
	}
	// One directory per upload keeps the file's own name for the batch.
	dir, err = os.MkdirTemp(base, "upload-*")
	if err != nil {
		s.catalogError(w, fmt.Errorf("console: catalog upload: %w", err))
		return "", "", 0, false
	}
	fail := func(status int, code, msg string) (string, string, int, bool) {
		os.RemoveAll(dir)
		WriteError(w, status, code, msg)
		return "", "", 0, false
	}
	isZip := strings.EqualFold(filepath.Ext(name), ".zip")
	limit := int64(maxProductsBody)
	target := filepath.Join(dir, name)
	if isZip {
		limit, target = maxCatalogZip, filepath.Join(dir, ".upload.zip")
	}
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		os.RemoveAll(dir)
		s.catalogError(w, fmt.Errorf("console: catalog upload: %w", err))
		return "", "", 0, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	n, err := f.ReadFrom(r.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return fail(http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("%s is larger than %d bytes", name, limit))
	case err != nil:
		return fail(http.StatusBadRequest, CodeBadRequest, "read upload: "+err.Error())
	case n == 0:
		return fail(http.StatusBadRequest, CodeBadRequest, "empty file")
	}
	if !isZip {
		return dir, target, 0, true
	}
	file, files, err := extractCatalogZip(target, dir, s.catalogImageLimit())
	os.Remove(target)
	if err != nil {
		// The message names entries of the merchant's own archive (an
		// absolute one included): no server path to hide.
		return fail(http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("%s: %v", name, err))
	}
	return dir, file, files, true
}

// catalogImageLimit is the size limit of one product image, as the
// importer applies it.
func (s *Server) catalogImageLimit() int64 { return catalog.DefaultMaxImageBytes }

// errZip is the family of ZIP upload errors.
var errZip = errors.New("not an importable ZIP")

// extractCatalogZip writes the files of the ZIP at zipPath under dir and
// returns the catalog file among them. It refuses entries that would land
// outside dir (absolute paths, "..", symlinks), more than maxZipEntries
// files or maxZipExtracted bytes, and a ZIP without exactly one catalog
// file.
func extractCatalogZip(zipPath, dir string, maxImage int64) (string, int, error) {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return "", 0, fmt.Errorf("%w: %v", errZip, err)
	}
	defer zr.Close()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return "", 0, err
	}
	defer root.Close()
	var catalogs []string
	var written int64
	files := 0
	for _, f := range zr.File {
		name := f.Name
		// An entry may only name a place inside the archive's folder.
		if strings.Contains(name, `\`) || !filepath.IsLocal(strings.TrimSuffix(name, "/")) {
			return "", 0, fmt.Errorf("%w: entry %q points outside the archive's folder", errZip, name)
		}
		if f.Mode()&fs.ModeSymlink != 0 {
			return "", 0, fmt.Errorf("%w: entry %q is a symbolic link", errZip, name)
		}
		if f.FileInfo().IsDir() {
			if err := root.MkdirAll(filepath.FromSlash(strings.TrimSuffix(name, "/")), 0o750); err != nil {
				return "", 0, fmt.Errorf("%w: %v", errZip, err)
			}
			continue
		}
		if junkEntry(name) {
			continue
		}
		if files++; files > maxZipEntries {
			return "", 0, fmt.Errorf("%w: more than %d files", errZip, maxZipEntries)
		}
		limit := maxImage + 1
		if isCatalogName(name) {
			catalogs = append(catalogs, name)
			limit = maxProductsBody
		}
		n, err := extractEntry(root, f, limit)
		if err != nil {
			return "", 0, fmt.Errorf("%w: entry %q: %v", errZip, name, err)
		}
		if written += n; written > maxZipExtracted {
			return "", 0, fmt.Errorf("%w: it holds more than %d bytes", errZip, int64(maxZipExtracted))
		}
	}
	switch len(catalogs) {
	case 0:
		return "", 0, fmt.Errorf("%w: it holds no catalog file (a .csv or .jsonl file of product rows beside the images it names)", errZip)
	case 1:
		return filepath.Join(dir, filepath.FromSlash(catalogs[0])), files, nil
	}
	return "", 0, fmt.Errorf("%w: it holds %d catalog files (%s): keep one", errZip, len(catalogs), strings.Join(catalogs, ", "))
}

// junkEntry reports files that archivers add and nothing imports.
func junkEntry(name string) bool {
	base := strings.ToLower(filepath.Base(name))
	return strings.HasPrefix(name, "__MACOSX/") || base == ".ds_store" || base == "thumbs.db"
}

// isCatalogName reports a file a ZIP's catalog may be: a format the
// importer reads, not a read-me.
func isCatalogName(name string) bool {
	base := strings.ToLower(filepath.Base(name))
	if strings.HasPrefix(base, "readme") || strings.HasPrefix(base, "license") || strings.HasPrefix(base, ".") {
		return false
	}
	if filepath.Ext(base) == ".txt" {
		return false // a note more often than a Merchant Center text feed (send those as .tsv)
	}
	_, err := catalog.FormatOf(name)
	return err == nil
}

// extractEntry copies at most limit bytes of f to its place under root.
func extractEntry(root *os.Root, f *zip.File, limit int64) (int64, error) {
	name := filepath.FromSlash(f.Name)
	if d := filepath.Dir(name); d != "." {
		if err := root.MkdirAll(d, 0o750); err != nil {
			return 0, err
		}
	}
	rc, err := f.Open()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	out, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, io.LimitReader(rc, limit))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// inspectCatalog reads the head of a catalog file: its columns, a few
// rows, the mapping to suggest, and how its rows name their images.
func inspectCatalog(dir, file string, remembered map[string]string) (CatalogUpload, error) {
	rel, _ := filepath.Rel(dir, file)
	up := CatalogUpload{Upload: filepath.Base(dir), File: filepath.ToSlash(rel), Fields: catalog.MappableFields}
	f, err := catalog.DetectFile(file)
	if err != nil {
		// A CSV or JSONL file without vitrine's column names (no id
		// column yet) is what the mapping step is for.
		base, ferr := catalog.FormatOf(file)
		if ferr != nil || (base != catalog.CSV && base != catalog.JSONL) {
			return up, err
		}
		f = base
	}
	up.Format = string(f)
	var rows []map[string]string
	switch {
	case f == catalog.CSV:
		up.Columns, rows, err = headCSV(file, inspectRows)
	case f == catalog.JSONL:
		up.Columns, rows, err = headJSONL(file, inspectRows)
	default:
		return up, nil // a feed format with its own fields
	}
	if err != nil {
		return up, err
	}
	up.Mappable = true
	for i, row := range rows {
		if i >= sampleRows {
			break
		}
		vals := make([]string, len(up.Columns))
		for j, c := range up.Columns {
			vals[j] = row[c]
		}
		up.Sample = append(up.Sample, vals)
	}
	up.Mapping = map[string]string{}
	if remembered != nil && allColumns(remembered, up.Columns) {
		maps := map[string]string{}
		for k, v := range remembered {
			maps[k] = v
		}
		up.Mapping, up.Remembered = maps, true
	} else {
		for _, c := range up.Columns {
			if fld := catalog.ColumnField(c); fld != "" && up.Mapping[fld] == "" {
				up.Mapping[fld] = c
			}
		}
	}
	up.Images = checkImages(dir, file, rows, up.Mapping[catalog.FieldImage])
	up.Needs = imageNeeds(up.Images, up.Mapping[catalog.FieldImage])
	return up, nil
}

func allColumns(m map[string]string, cols []string) bool {
	for _, c := range m {
		if c != "" && !slices.Contains(cols, c) {
			return false
		}
	}
	return len(m) > 0
}

func headCSV(file string, n int) ([]string, []map[string]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	cr := csv.NewReader(bufio.NewReader(f))
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("read the CSV header: %w", err)
	}
	head[0] = strings.TrimPrefix(head[0], "\ufeff")
	var rows []map[string]string
	for len(rows) < n {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			continue // the import reports bad rows; the preview skips them
		}
		row := map[string]string{}
		for i, c := range head {
			if i < len(rec) {
				row[c] = rec[i]
			}
		}
		rows = append(rows, row)
	}
	return head, rows, nil
}

func headJSONL(file string, n int) ([]string, []map[string]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	var cols []string
	seen := map[string]bool{}
	var rows []map[string]string
	for len(rows) < n {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 && len(line) <= catalog.MaxLineBytes {
			var m map[string]json.RawMessage
			if json.Unmarshal(line, &m) == nil {
				keys := make([]string, 0, len(m))
				for k := range m {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				row := map[string]string{}
				for _, k := range keys {
					if !seen[k] {
						seen[k] = true
						cols = append(cols, k)
					}
					var s string
					if json.Unmarshal(m[k], &s) != nil {
						s = string(m[k])
					}
					row[k] = s
				}
				rows = append(rows, row)
			}
		}
		if err != nil {
			break
		}
	}
	if len(cols) == 0 {
		return nil, nil, errors.New("no JSON object on the first lines")
	}
	return cols, rows, nil
}

// checkImages classifies the image references of rows in column col.
func checkImages(dir, file string, rows []map[string]string, col string) ImageCheck {
	var c ImageCheck
	if col == "" {
		return c
	}
	root, err := os.OpenRoot(filepath.Dir(file))
	if err == nil {
		defer root.Close()
	}
	for _, row := range rows {
		v := strings.TrimSpace(row[col])
		if v == "" {
			continue
		}
		c.Rows++
		first := strings.TrimSpace(strings.Split(v, "|")[0])
		if c.Example == "" {
			c.Example = first
		}
		switch {
		case strings.HasPrefix(first, "http://") || strings.HasPrefix(first, "https://"):
			c.URLs++
		case strings.HasPrefix(first, "blob:"):
			c.Blobs++
		default:
			c.Paths++
			if root != nil {
				if st, err := root.Stat(filepath.FromSlash(first)); err == nil && st.Mode().IsRegular() {
					c.Found++
				}
			}
		}
	}
	return c
}

// imageNeeds says plainly what a file needs for its images to be read.
func imageNeeds(c ImageCheck, col string) string {
	switch {
	case col == "":
		return "No column is mapped to the image: every product needs one (an http(s) URL, or a file in a ZIP uploaded with the catalog)."
	case c.Paths > 0 && c.Found < c.Paths:
		return fmt.Sprintf("%d of the first %d rows name image files by path (such as %q) that did not come with the file: upload a ZIP holding the catalog file and its images, or a CSV whose image column holds http(s) URLs.",
			c.Paths-c.Found, c.Rows, c.Example)
	}
	return ""
}

// mappingStore remembers column mappings per source file name in the
// upload directory, beside the uploads they were made for.
type mappingStore struct {
	mu   sync.Mutex
	path string
}

var mappingStores sync.Map // path -> *mappingStore

func (s *Server) mappings() *mappingStore {
	p := filepath.Join(s.catalogUploadDir(), "mappings.json")
	v, _ := mappingStores.LoadOrStore(p, &mappingStore{path: p})
	return v.(*mappingStore)
}

func sourceKey(file string) string { return strings.ToLower(filepath.Base(file)) }

func (m *mappingStore) load() map[string]map[string]string {
	all := map[string]map[string]string{}
	if b, err := os.ReadFile(m.path); err == nil {
		_ = json.Unmarshal(b, &all) // a damaged file only forgets mappings
	}
	return all
}

// Get returns the mapping remembered for a source file name.
func (m *mappingStore) Get(file string) map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.load()[sourceKey(file)]
}

// Put remembers a mapping for a source file name.
func (m *mappingStore) Put(file string, mapping map[string]string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	all := m.load()
	all[sourceKey(file)] = mapping
	b, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return err
	}
	tmp := m.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, m.path)
}

func (s *Server) consoleCatalogUpload(w http.ResponseWriter, r *http.Request) {
	if c := s.catalogService(w); c == nil {
		return
	}
	dir, file, files, ok := s.storeCatalogUpload(w, r)
	if !ok {
		return
	}
	up, err := inspectCatalog(dir, file, s.mappings().Get(file))
	if err != nil {
		os.RemoveAll(dir)
		WriteError(w, http.StatusBadRequest, CodeBadRequest, scrubPaths(fmt.Sprintf("%s: %v", filepath.Base(file), err)))
		return
	}
	up.Zip = files
	WriteJSON(w, http.StatusCreated, up)
}

func (s *Server) consoleCatalogUploadImport(w http.ResponseWriter, r *http.Request) {
	c := s.catalogService(w)
	if c == nil {
		return
	}
	id := r.PathValue("id")
	if !uploadID.MatchString(id) {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, "unknown upload")
		return
	}
	var in struct {
		Mapping map[string]string `json:"mapping"`
	}
	if err := DecodeJSON(w, r, 1<<14, &in); err != nil {
		WriteBodyError(w, err)
		return
	}
	dir := filepath.Join(s.catalogUploadDir(), id)
	file, err := uploadedCatalog(dir)
	if err != nil {
		WriteError(w, http.StatusNotFound, CodeNotFound, "upload "+id+" is unknown or already imported")
		return
	}
	up, err := inspectCatalog(dir, file, nil)
	if err != nil {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, scrubPaths(err.Error()))
		return
	}
	if up.Mappable && len(in.Mapping) > 0 {
		mapping := map[string]string{}
		for fld, col := range in.Mapping {
			if col == "" {
				continue
			}
			if !slices.Contains(catalog.MappableFields, fld) {
				WriteError(w, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("unknown field %q (want one of %s)", fld, strings.Join(catalog.MappableFields, ", ")))
				return
			}
			if !slices.Contains(up.Columns, col) {
				WriteError(w, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("the file has no column %q", col))
				return
			}
			mapping[fld] = col
		}
		if mapping[catalog.FieldID] == "" {
			WriteError(w, http.StatusBadRequest, CodeBadRequest, "map a column to the product id: every row needs one")
			return
		}
		if err := applyMapping(file, up.Format, mapping); err != nil {
			s.catalogError(w, fmt.Errorf("console: apply column mapping: %w", err))
			return
		}
		if err := s.mappings().Put(file, mapping); err != nil {
			s.log.Warn("api: remember column mapping", "file", filepath.Base(file), "err", err)
		}
	}
	batch, wf, err := c.EnqueueFile(r.Context(), s.Runner, file)
	if err != nil {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, scrubPaths(err.Error()))
		return
	}
	// The workflow reads the file from here: mark the upload as used.
	if err := os.WriteFile(filepath.Join(dir, ".imported"), []byte(fmt.Sprint(batch)), 0o640); err != nil {
		s.log.Warn("api: mark catalog upload imported", "upload", id, "err", err)
	}
	WriteJSON(w, http.StatusAccepted, map[string]any{"batch": batch, "workflow_id": wf})
}

// uploadedCatalog finds the catalog file of an upload directory that was
// not imported yet.
func uploadedCatalog(dir string) (string, error) {
	if _, err := os.Stat(filepath.Join(dir, ".imported")); err == nil {
		return "", errors.New("already imported")
	}
	var found []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if !d.IsDir() && d.Type().IsRegular() && isCatalogName(filepath.ToSlash(rel)) && !junkEntry(filepath.ToSlash(rel)) {
			found = append(found, p)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if len(found) != 1 {
		return "", fmt.Errorf("%d catalog files", len(found))
	}
	return found[0], nil
}

// applyMapping renames the mapped columns (CSV header) or keys (JSONL) of
// file to the field names the importer reads. A column mapped to a field
// it already feeds keeps its name (price_inr keeps its currency); another
// column that would feed a mapped field becomes a plain attribute.
func applyMapping(file, format string, mapping map[string]string) error {
	colOf := map[string]string{} // column -> field
	for fld, col := range mapping {
		colOf[col] = fld
	}
	rename := func(col string) string {
		if fld, ok := colOf[col]; ok {
			if catalog.ColumnField(col) == fld {
				return col
			}
			return fld
		}
		if fld := catalog.ColumnField(col); fld != "" && mapping[fld] != "" {
			return "source_" + col
		}
		return col
	}
	src, err := os.Open(file)
	if err != nil {
		return err
	}
	defer src.Close()
	tmp := file + ".mapped"
	dst, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	bw := bufio.NewWriter(dst)
	switch catalog.Format(format) {
	case catalog.CSV:
		err = mapCSV(src, bw, rename)
	case catalog.JSONL:
		err = mapJSONL(src, bw, rename)
	default:
		err = fmt.Errorf("format %s has no columns to map", format)
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

// mapCSV rewrites the header row and copies every other byte as it is.
func mapCSV(src io.ReadSeeker, dst io.Writer, rename func(string) string) error {
	cr := csv.NewReader(bufio.NewReader(src))
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return fmt.Errorf("read the CSV header: %w", err)
	}
	end := cr.InputOffset()
	head[0] = strings.TrimPrefix(head[0], "\ufeff")
	for i, c := range head {
		head[i] = rename(c)
	}
	cw := csv.NewWriter(dst)
	if err := cw.Write(head); err != nil {
		return err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	if _, err := src.Seek(end, io.SeekStart); err != nil {
		return err
	}
	_, err = io.Copy(dst, src)
	return err
}

// mapJSONL renames the keys of every object line; other lines (malformed,
// too long) are copied as they are for the importer to report.
func mapJSONL(src io.Reader, dst io.Writer, rename func(string) string) error {
	br := bufio.NewReaderSize(src, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			var m map[string]json.RawMessage
			if len(line) <= catalog.MaxLineBytes && json.Unmarshal(line, &m) == nil {
				out := make(map[string]json.RawMessage, len(m))
				for k, v := range m {
					out[rename(k)] = v
				}
				b, merr := json.Marshal(out)
				if merr != nil {
					return merr
				}
				line = append(b, '\n')
			}
			if _, werr := dst.Write(line); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
