package crypt

import (
	"bufio"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
)

// Encrypter writes an encrypted object to an underlying writer. Close
// writes the final segment; without it the object is incomplete and will
// not decrypt.
type Encrypter struct {
	w      io.Writer
	aead   cipher.AEAD
	prefix [prefixSize]byte
	buf    []byte
	out    []byte
	n      uint32
	err    error
	closed bool
}

// NewEncrypter writes the header of a new object to w with a fresh data
// key and returns the writer of its plaintext.
func (kr *Keyring) NewEncrypter(w io.Writer) (*Encrypter, error) {
	dek := make([]byte, keySize)
	if _, err := rand.Read(dek); err != nil {
		return nil, fmt.Errorf("crypt: encrypt: %w", err)
	}
	h := &header{}
	if _, err := rand.Read(h.prefix[:]); err != nil {
		return nil, fmt.Errorf("crypt: encrypt: %w", err)
	}
	if err := kr.wrap(h, dek); err != nil {
		return nil, err
	}
	a, err := newGCM(dek)
	if err != nil {
		return nil, fmt.Errorf("crypt: encrypt: %w", err)
	}
	if _, err := w.Write(h.marshal()); err != nil {
		return nil, fmt.Errorf("crypt: encrypt: write header: %w", err)
	}
	return &Encrypter{w: w, aead: a, prefix: h.prefix, buf: make([]byte, 0, SegmentSize), out: make([]byte, 0, SegmentSize+TagSize)}, nil
}

// Write encrypts p. A full segment is written only once more data follows,
// since the last segment carries the final flag.
func (e *Encrypter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if e.closed {
		return 0, errors.New("crypt: write after close")
	}
	n := 0
	for len(p) > 0 {
		if len(e.buf) == SegmentSize {
			if err := e.flush(false); err != nil {
				return n, err
			}
		}
		c := copy(e.buf[len(e.buf):SegmentSize], p)
		e.buf = e.buf[:len(e.buf)+c]
		p = p[c:]
		n += c
	}
	return n, nil
}

func (e *Encrypter) flush(final bool) error {
	if e.n == 1<<32-1 && !final {
		e.err = errors.New("crypt: object too large")
		return e.err
	}
	e.out = e.aead.Seal(e.out[:0], segmentNonce(e.prefix, e.n, final), e.buf, nil)
	if _, err := e.w.Write(e.out); err != nil {
		e.err = fmt.Errorf("crypt: encrypt: %w", err)
		return e.err
	}
	e.n++
	e.buf = e.buf[:0]
	return nil
}

// Close writes the final segment. It does not close the underlying writer.
func (e *Encrypter) Close() error {
	if e.err != nil {
		return e.err
	}
	if e.closed {
		return nil
	}
	e.closed = true
	return e.flush(true)
}

// Decrypter reads the plaintext of an object from its ciphertext.
type Decrypter struct {
	r      *bufio.Reader
	aead   cipher.AEAD
	prefix [prefixSize]byte
	n      uint32 // index of the next segment
	last   int64  // index of the last segment, or -1 to find it by EOF
	skip   int    // plaintext bytes to drop from the first segment
	remain int64  // plaintext bytes still to return, -1 for all
	in     []byte
	plain  []byte
	off    int
	done   bool
	err    error
}

// NewDecrypter reads the header from r and returns the plaintext reader.
func (kr *Keyring) NewDecrypter(r io.Reader) (*Decrypter, error) {
	hb := make([]byte, HeaderSize)
	if n, err := io.ReadFull(r, hb); err != nil {
		if IsEncrypted(hb[:n]) {
			return nil, fmt.Errorf("crypt: decrypt: truncated header: %w", ErrCorrupt)
		}
		return nil, fmt.Errorf("crypt: decrypt: %w", ErrNotEncrypted)
	}
	return kr.decrypter(hb, r, 0, -1, 0, -1)
}

func (kr *Keyring) decrypter(hb []byte, body io.Reader, first uint32, last int64, skip int, length int64) (*Decrypter, error) {
	h, err := parseHeader(hb)
	if err != nil {
		return nil, fmt.Errorf("crypt: decrypt: %w", err)
	}
	dek, err := kr.unwrap(h)
	if err != nil {
		return nil, fmt.Errorf("crypt: decrypt: %w", err)
	}
	a, err := newGCM(dek)
	if err != nil {
		return nil, fmt.Errorf("crypt: decrypt: %w", err)
	}
	return &Decrypter{
		r: bufio.NewReaderSize(body, SegmentSize+TagSize+1), aead: a, prefix: h.prefix,
		n: first, last: last, skip: skip, remain: length,
		in: make([]byte, SegmentSize+TagSize),
	}, nil
}

// Read returns plaintext; any tampering or truncation is an ErrCorrupt error.
func (d *Decrypter) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if d.remain == 0 {
		return 0, io.EOF
	}
	for d.off == len(d.plain) {
		if d.done {
			return 0, io.EOF
		}
		if err := d.next(); err != nil {
			d.err = err
			return 0, err
		}
	}
	b := d.plain[d.off:]
	if d.remain >= 0 && int64(len(b)) > d.remain {
		b = b[:d.remain]
	}
	n := copy(p, b)
	d.off += n
	if d.remain >= 0 {
		d.remain -= int64(n)
	}
	return n, nil
}

func (d *Decrypter) next() error {
	n, err := io.ReadFull(d.r, d.in)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("crypt: decrypt: read: %w", err)
	}
	if n < TagSize {
		return fmt.Errorf("crypt: decrypt: segment %d is missing: %w", d.n, ErrCorrupt)
	}
	var final bool
	if d.last >= 0 {
		final = int64(d.n) == d.last
	} else {
		_, perr := d.r.Peek(1)
		final = perr != nil
		if perr != nil && !errors.Is(perr, io.EOF) {
			return fmt.Errorf("crypt: decrypt: read: %w", perr)
		}
	}
	d.plain, err = d.aead.Open(d.plain[:0], segmentNonce(d.prefix, d.n, final), d.in[:n], nil)
	if err != nil {
		return fmt.Errorf("crypt: decrypt: segment %d: %w", d.n, ErrCorrupt)
	}
	d.off = 0
	if d.skip > 0 {
		if d.skip > len(d.plain) {
			return fmt.Errorf("crypt: decrypt: range start past the segment: %w", ErrCorrupt)
		}
		d.off, d.skip = d.skip, 0
	}
	d.n++
	d.done = final
	return nil
}

// Range describes which stored bytes hold a plaintext byte range.
type Range struct {
	// Offset and Length select the stored bytes to read (after the header).
	Offset, Length int64
	first          uint32
	last           int64
	skip           int
	plainLen       int64
}

// PlanRange maps the plaintext range [off, off+length) of an object whose
// stored size is cipherSize (length < 0: to the end) to the stored bytes
// to read. The range must start inside the object.
func PlanRange(cipherSize, off, length int64) (Range, error) {
	plain, err := PlainSize(cipherSize)
	if err != nil {
		return Range{}, err
	}
	if off < 0 || off > plain || (off == plain && plain > 0) {
		return Range{}, fmt.Errorf("crypt: range start %d outside an object of %d bytes", off, plain)
	}
	if length < 0 || off+length > plain {
		length = plain - off
	}
	segs := (plain + SegmentSize - 1) / SegmentSize
	if segs == 0 {
		segs = 1
	}
	first := off / SegmentSize
	end := first
	if length > 0 {
		end = (off + length - 1) / SegmentSize
	}
	so := HeaderSize + first*(SegmentSize+TagSize)
	se := HeaderSize + (end+1)*(SegmentSize+TagSize)
	if se > cipherSize {
		se = cipherSize
	}
	return Range{Offset: so, Length: se - so, first: uint32(first), last: segs - 1, skip: int(off - first*SegmentSize), plainLen: length}, nil
}

// NewRangeDecrypter decrypts the plaintext range planned by rg: header is
// the object's first HeaderSize bytes and body the stored bytes rg names.
func (kr *Keyring) NewRangeDecrypter(header []byte, body io.Reader, rg Range) (*Decrypter, error) {
	return kr.decrypter(header, body, rg.first, rg.last, rg.skip, rg.plainLen)
}
