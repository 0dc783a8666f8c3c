package vecindex

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
)

// Snapshot format (little endian):
//
//	magic "VTRNVIDX", version u32
//	dim, M, efConstruction, efSearch u32, exactThreshold i32; seed, stamp u64
//	nodes, deleted u64; entry i64; topLevel u32
//	3 string tables (products, categories, availabilities): count u32,
//	  then count-1 strings (code 0 is always "")
//	per node: id, product/category/availability codes u32, price f64,
//	  flags u8 (1 = deleted), level u8, layer 0..level links
//	  (count u32 + count u32), dim f32
//	CRC-32C of everything above, u32
//
// Strings are a u32 length and the bytes.
const (
	snapshotMagic   = "VTRNVIDX"
	snapshotVersion = 1
	maxStringLen    = 1 << 20
	maxNodes        = 1 << 31
)

// ErrCorrupt is wrapped by Load and ReadHeader errors for truncated or
// damaged snapshots; the caller should rebuild from stored vectors.
var ErrCorrupt = errors.New("vecindex: corrupt snapshot")

// ErrVersion is wrapped when a snapshot has a format version this build
// cannot read.
var ErrVersion = errors.New("vecindex: unsupported snapshot version")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Header is the fixed part of a snapshot.
type Header struct {
	Version int
	Config  Config
	// Stamp is the caller's stamp at Save time (see SetStamp).
	Stamp uint64
	// Nodes counts stored vectors including deleted ones; Live excludes them.
	Nodes, Live int
}

// Save writes a snapshot of the index to w. Writers wait until it is done;
// searches continue.
func (ix *Index) Save(w io.Writer) error {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	crc := crc32.New(castagnoli)
	bw := bufio.NewWriterSize(io.MultiWriter(w, crc), 1<<16)
	e := encoder{w: bw}
	e.bytes([]byte(snapshotMagic))
	e.u32(snapshotVersion)
	c := ix.cfg
	e.u32(uint32(c.Dim))
	e.u32(uint32(c.M))
	e.u32(uint32(c.EfConstruction))
	e.u32(uint32(ix.efSearch))
	e.u32(uint32(int32(c.ExactThreshold)))
	e.u64(c.Seed)
	e.u64(ix.stamp)
	e.u64(uint64(len(ix.ids)))
	e.u64(uint64(ix.nDeleted))
	e.u64(uint64(ix.entry))
	e.u32(uint32(ix.topLevel))
	for _, t := range []*strtab{&ix.prods, &ix.cats, &ix.avails} {
		e.u32(uint32(t.len()))
		for _, s := range t.names[1:] {
			e.str(s)
		}
	}
	for i, id := range ix.ids {
		n := uint32(i)
		e.str(id)
		e.u32(ix.prod[n])
		e.u32(ix.cat[n])
		e.u32(ix.avail[n])
		e.u64(math.Float64bits(ix.price[n]))
		var flags byte
		if ix.deleted[n] {
			flags = 1
		}
		e.bytes([]byte{flags, ix.levels[n]})
		for l := 0; l <= int(ix.levels[n]); l++ {
			sl := ix.linkSlot(n, l)
			for _, x := range sl[:1+sl[0]] {
				e.u32(x)
			}
		}
		for _, f := range ix.vec(n) {
			e.u32(math.Float32bits(f))
		}
	}
	if e.err == nil {
		e.err = bw.Flush()
	}
	if e.err == nil {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], crc.Sum32())
		_, e.err = w.Write(b[:])
	}
	if e.err != nil {
		return fmt.Errorf("vecindex: save snapshot: %w", e.err)
	}
	return nil
}

type encoder struct {
	w   *bufio.Writer
	buf [8]byte
	err error
}

func (e *encoder) bytes(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

func (e *encoder) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.buf[:4], v)
	e.bytes(e.buf[:4])
}

func (e *encoder) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.buf[:8], v)
	e.bytes(e.buf[:8])
}

func (e *encoder) str(s string) {
	e.u32(uint32(len(s)))
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
}

// decoder reads with a sticky error and hashes everything it reads.
type decoder struct {
	r   *bufio.Reader
	crc hash.Hash32
	buf []byte
	err error
}

func (d *decoder) read(n int) []byte {
	if d.err != nil {
		return nil
	}
	if cap(d.buf) < n {
		d.buf = make([]byte, n)
	}
	b := d.buf[:n]
	if _, err := io.ReadFull(d.r, b); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		d.err = fmt.Errorf("%w: truncated: %w", ErrCorrupt, err)
		return nil
	}
	d.crc.Write(b)
	return b
}

func (d *decoder) u32() uint32 {
	if b := d.read(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if b := d.read(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (d *decoder) str() string {
	n := d.u32()
	if n > maxStringLen {
		d.fail("string length %d", n)
		return ""
	}
	return string(d.read(int(n)))
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
	}
}

// header reads and checks the fixed part.
func (d *decoder) header() (h Header, entry int64, top int) {
	if magic := d.read(len(snapshotMagic)); d.err == nil && string(magic) != snapshotMagic {
		d.fail("bad magic %q", magic)
	}
	h.Version = int(d.u32())
	if d.err == nil && h.Version != snapshotVersion {
		d.err = fmt.Errorf("%w %d (this build reads %d)", ErrVersion, h.Version, snapshotVersion)
	}
	c := Config{
		Dim: int(d.u32()), M: int(d.u32()), EfConstruction: int(d.u32()),
		EfSearch: int(d.u32()), ExactThreshold: int(int32(d.u32())),
	}
	c.Seed = d.u64()
	h.Stamp = d.u64()
	nodes, deleted := d.u64(), d.u64()
	entry = int64(d.u64())
	top = int(d.u32())
	if d.err != nil {
		return h, 0, 0
	}
	if c.EfConstruction < 1 || c.EfSearch < 1 || c.ExactThreshold == 0 {
		d.fail("bad search parameters")
		return h, 0, 0
	}
	var err error
	if h.Config, err = c.withDefaults(); err != nil {
		d.fail("%v", err)
		return h, 0, 0
	}
	switch {
	case nodes > maxNodes || deleted > nodes:
		d.fail("node counts %d/%d", nodes, deleted)
	case nodes == 0 && entry != -1, nodes > 0 && (entry < 0 || uint64(entry) >= nodes):
		d.fail("entry point %d of %d nodes", entry, nodes)
	case top > maxLevelCap:
		d.fail("top level %d", top)
	}
	h.Nodes, h.Live = int(nodes), int(nodes-deleted)
	return h, entry, top
}

// ReadHeader reads the header of a snapshot, so a caller can compare its
// stamp before paying for a full Load. It may read past the header (it
// buffers), so open the snapshot again to Load it.
func ReadHeader(r io.Reader) (Header, error) {
	d := &decoder{r: bufio.NewReader(r), crc: crc32.New(castagnoli)}
	h, _, _ := d.header()
	if d.err != nil {
		return Header{}, fmt.Errorf("vecindex: read snapshot header: %w", d.err)
	}
	return h, nil
}

// Load reads a snapshot written by Save. Damaged or truncated input gives
// an error wrapping ErrCorrupt, never a partial index.
func Load(r io.Reader) (*Index, error) {
	ix, err := load(r)
	if err != nil {
		return nil, fmt.Errorf("vecindex: load snapshot: %w", err)
	}
	return ix, nil
}

func load(r io.Reader) (*Index, error) {
	d := &decoder{r: bufio.NewReaderSize(r, 1<<16), crc: crc32.New(castagnoli)}
	h, entry, top := d.header()
	if d.err != nil {
		return nil, d.err
	}
	ix := &Index{cfg: h.Config}
	ix.init()
	ix.efSearch = h.Config.EfSearch
	ix.stamp = h.Stamp
	ix.entry = entry
	ix.topLevel = top
	n := h.Nodes
	for _, t := range []*strtab{&ix.prods, &ix.cats, &ix.avails} {
		cnt := d.u32()
		if d.err == nil && (cnt < 1 || uint64(cnt) > uint64(n)+1) {
			d.fail("string table of %d entries for %d nodes", cnt, n)
		}
		for i := uint32(1); i < cnt && d.err == nil; i++ {
			s := d.str()
			if _, dup := t.codes[s]; dup && d.err == nil {
				d.fail("duplicate table entry %q", s)
			}
			t.code(s)
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	ix.catLive = make([]int, ix.cats.len())
	ix.availLive = make([]int, ix.avails.len())
	dim := ix.cfg.Dim
	// Grow with the data actually read, so a lying node count in a short
	// file fails on EOF instead of allocating gigabytes up front.
	pre := min(n, 1<<16)
	ix.ids = make([]string, 0, pre)
	ix.vecs = make([]float32, 0, pre*dim)
	ix.links0 = make([]uint32, 0, pre*(ix.m0+1))
	for i := 0; i < n && d.err == nil; i++ {
		id := d.str()
		p, c, a := d.u32(), d.u32(), d.u32()
		price := math.Float64frombits(d.u64())
		fl := d.read(2)
		if d.err != nil {
			break
		}
		flags, lvl := fl[0], int(fl[1])
		switch {
		case id == "":
			d.fail("node %d: empty id", i)
		case int(p) >= ix.prods.len() || int(c) >= ix.cats.len() || int(a) >= ix.avails.len():
			d.fail("node %d: attribute code out of range", i)
		case flags > 1 || lvl > top:
			d.fail("node %d: flags %d level %d", i, flags, lvl)
		case math.IsNaN(price) || math.IsInf(price, 0):
			d.fail("node %d: price", i)
		}
		ix.ids = append(ix.ids, id)
		ix.prod = append(ix.prod, p)
		ix.cat = append(ix.cat, c)
		ix.avail = append(ix.avail, a)
		ix.price = append(ix.price, price)
		ix.deleted = append(ix.deleted, flags == 1)
		ix.levels = append(ix.levels, uint8(lvl))
		ix.links0 = append(ix.links0, make([]uint32, ix.m0+1)...)
		var up []uint32
		if lvl > 0 {
			up = make([]uint32, lvl*(ix.m+1))
		}
		ix.upper = append(ix.upper, up)
		for l := 0; l <= lvl && d.err == nil; l++ {
			sl := ix.linkSlot(uint32(i), l)
			cnt := d.u32()
			if d.err == nil && int(cnt) > len(sl)-1 {
				d.fail("node %d layer %d: %d links", i, l, cnt)
				break
			}
			sl[0] = cnt
			for j := 1; j <= int(cnt); j++ {
				x := d.u32()
				if d.err == nil && uint64(x) >= uint64(n) {
					d.fail("node %d: link to %d of %d nodes", i, x, n)
				}
				sl[j] = x
			}
		}
		raw := d.read(4 * dim)
		if d.err != nil {
			break
		}
		for j := range dim {
			ix.vecs = append(ix.vecs, math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:])))
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	sum := d.crc.Sum32()
	var tail [4]byte
	if _, err := io.ReadFull(d.r, tail[:]); err != nil {
		return nil, fmt.Errorf("%w: truncated checksum: %w", ErrCorrupt, err)
	}
	if binary.LittleEndian.Uint32(tail[:]) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	// An upper-layer link must point at a node that lives on that layer,
	// or a search would index past the target's link slots.
	for i, up := range ix.upper {
		for l := 1; l <= int(ix.levels[i]); l++ {
			sl := up[(l-1)*(ix.m+1):]
			for _, x := range sl[1 : 1+sl[0]] {
				if int(ix.levels[x]) < l {
					return nil, fmt.Errorf("%w: node %d links to node %d on layer %d above its level", ErrCorrupt, i, x, l)
				}
			}
		}
	}
	if n > 0 && int(ix.levels[entry]) != top {
		return nil, fmt.Errorf("%w: entry point level %d, top level %d", ErrCorrupt, ix.levels[entry], top)
	}
	for i := range n {
		if ix.deleted[i] {
			ix.nDeleted++
			continue
		}
		if _, dup := ix.byID[ix.ids[i]]; dup {
			return nil, fmt.Errorf("%w: duplicate live id %q", ErrCorrupt, ix.ids[i])
		}
		ix.live(uint32(i))
	}
	if ix.nDeleted != n-h.Live {
		return nil, fmt.Errorf("%w: %d deleted nodes, header says %d", ErrCorrupt, ix.nDeleted, n-h.Live)
	}
	return ix, nil
}
