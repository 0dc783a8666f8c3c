package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	gcblob "gocloud.dev/blob"

	"github.com/vitrine-dev/vitrine/internal/crypt"
)

// Encryption at rest: with a keyring, every object is written in the
// internal/crypt format (a data key per object, wrapped by the keyring's
// active KEK) and marked with object metadata, so Attributes reports the
// plaintext size without reading the object. Reads decrypt transparently;
// objects written before encryption was enabled still read as they are
// until Rewrap encrypts them.

const (
	encMetaKey   = "vitrine-enc"
	encMetaValue = "crypt-v1"
)

// ErrEncrypted is returned (wrapped) when an encrypted object is read from
// a store opened without the key-encryption key.
var ErrEncrypted = errors.New("blob: object is encrypted and no key-encryption key is configured (VITRINE_KEK or VITRINE_KEK_FILE)")

// Options tune a store.
type Options struct {
	// Keyring, when set, encrypts every object written and decrypts reads.
	Keyring *crypt.Keyring
}

// OpenWith opens the store named by u (see Open) with options.
func OpenWith(ctx context.Context, u string, o Options) (*Store, error) {
	s, err := Open(ctx, u)
	if err != nil {
		return nil, err
	}
	s.kr = o.Keyring
	return s, nil
}

// Encrypted reports whether objects written to the store are encrypted.
func (s *Store) Encrypted() bool { return s.kr != nil }

// write copies r to w, through the encrypter when the store has a keyring.
func (s *Store) write(w io.Writer, r io.Reader) error {
	if s.kr == nil {
		_, err := io.Copy(w, r)
		return err
	}
	e, err := s.kr.NewEncrypter(w)
	if err != nil {
		return err
	}
	if _, err := io.Copy(e, r); err != nil {
		return err
	}
	return e.Close()
}

// readCloser joins a reader with the closer of the object under it.
type readCloser struct {
	io.Reader
	io.Closer
}

// decrypt returns the plaintext of an object reader: decrypted when it
// starts with an encryption header, as is otherwise.
func (s *Store) decrypt(key string, r io.ReadCloser) (io.ReadCloser, error) {
	head := make([]byte, crypt.HeaderSize)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		r.Close()
		return nil, fmt.Errorf("blob: get %s: %w", key, err)
	}
	head = head[:n]
	if !crypt.IsEncrypted(head) {
		return readCloser{io.MultiReader(bytes.NewReader(head), r), r}, nil
	}
	if s.kr == nil {
		r.Close()
		return nil, fmt.Errorf("blob: get %s: %w", key, ErrEncrypted)
	}
	d, err := s.kr.NewDecrypter(io.MultiReader(bytes.NewReader(head), r))
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("blob: get %s: %w", key, err)
	}
	return readCloser{d, r}, nil
}

func (s *Store) getRangeEncrypted(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	a, err := s.bucket.Attributes(ctx, key)
	if err != nil {
		return nil, wrap("get range", key, err)
	}
	if a.Metadata[encMetaKey] != encMetaValue {
		r, err := s.bucket.NewRangeReader(ctx, key, offset, length, nil)
		if err != nil {
			return nil, wrap("get range", key, err)
		}
		return r, nil
	}
	rg, err := crypt.PlanRange(a.Size, offset, length)
	if err != nil {
		return nil, fmt.Errorf("blob: get range %s: %w", key, err)
	}
	head := make([]byte, crypt.HeaderSize)
	hr, err := s.bucket.NewRangeReader(ctx, key, 0, crypt.HeaderSize, nil)
	if err != nil {
		return nil, wrap("get range", key, err)
	}
	_, err = io.ReadFull(hr, head)
	hr.Close()
	if err != nil {
		return nil, fmt.Errorf("blob: get range %s: header: %w", key, err)
	}
	r, err := s.bucket.NewRangeReader(ctx, key, rg.Offset, rg.Length, nil)
	if err != nil {
		return nil, wrap("get range", key, err)
	}
	d, err := s.kr.NewRangeDecrypter(head, r, rg)
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("blob: get range %s: %w", key, err)
	}
	return readCloser{d, r}, nil
}

// RewrapResult says what Rewrap did to an object.
type RewrapResult int

// Outcomes of Rewrap.
const (
	// Unchanged: already encrypted under the active KEK.
	Unchanged RewrapResult = iota
	// Rewrapped: the data key was re-wrapped with the active KEK; only the
	// header changed.
	Rewrapped
	// Encrypted: a plaintext object (written before encryption was
	// enabled) was encrypted.
	Encrypted
)

// Rewrap brings the object at key under the active KEK: an object wrapped
// by an older KEK gets a new header (its body is copied unchanged, never
// re-encrypted) and a plaintext object is encrypted. Run it for every key
// after adding a new KEK in front of the old one; then the old KEK can be
// removed.
func (s *Store) Rewrap(ctx context.Context, key string) (RewrapResult, error) {
	if s.kr == nil {
		return Unchanged, fmt.Errorf("blob: rewrap %s: no key-encryption key configured", key)
	}
	if err := CheckKey(key); err != nil {
		return Unchanged, err
	}
	a, err := s.bucket.Attributes(ctx, key)
	if err != nil {
		return Unchanged, wrap("rewrap", key, err)
	}
	r, err := s.bucket.NewReader(ctx, key, nil)
	if err != nil {
		return Unchanged, wrap("rewrap", key, err)
	}
	defer r.Close()
	head := make([]byte, crypt.HeaderSize)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return Unchanged, fmt.Errorf("blob: rewrap %s: %w", key, err)
	}
	head = head[:n]
	md := map[string]string{}
	for k, v := range a.Metadata {
		md[k] = v
	}
	md[encMetaKey] = encMetaValue
	opts := &gcblob.WriterOptions{ContentType: a.ContentType, Metadata: md}
	result := Encrypted
	var body io.Reader
	if crypt.IsEncrypted(head) && a.Metadata[encMetaKey] == encMetaValue {
		nh, changed, err := s.kr.Rewrap(head)
		if err != nil {
			return Unchanged, fmt.Errorf("blob: rewrap %s: %w", key, err)
		}
		if !changed {
			return Unchanged, nil
		}
		result, body = Rewrapped, io.MultiReader(bytes.NewReader(nh), r)
	} else {
		body = io.MultiReader(bytes.NewReader(head), r)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := s.bucket.NewWriter(wctx, key, opts)
	if err != nil {
		return Unchanged, fmt.Errorf("blob: rewrap %s: %w", key, err)
	}
	if result == Rewrapped {
		_, err = io.Copy(w, body)
	} else {
		err = s.write(w, body)
	}
	if err != nil {
		cancel()
		w.Close()
		return Unchanged, fmt.Errorf("blob: rewrap %s: %w", key, err)
	}
	if err := w.Close(); err != nil {
		return Unchanged, fmt.Errorf("blob: rewrap %s: %w", key, err)
	}
	return result, nil
}

// ActiveKeyID is the id of the KEK new objects are wrapped with ("" when
// the store does not encrypt).
func (s *Store) ActiveKeyID() string {
	if s.kr == nil {
		return ""
	}
	return s.kr.KeyID()
}

// KeyIDs counts the given objects by the KEK id in their header; objects
// stored in the clear count under "".
func (s *Store) KeyIDs(ctx context.Context, keys []string) (map[string]int, error) {
	out := map[string]int{}
	for _, k := range keys {
		if err := CheckKey(k); err != nil {
			return nil, err
		}
		r, err := s.bucket.NewRangeReader(ctx, k, 0, crypt.HeaderSize, nil)
		if err != nil {
			return nil, wrap("key id", k, err)
		}
		head, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("blob: key id %s: %w", k, err)
		}
		id, err := crypt.HeaderKeyID(head)
		if err != nil {
			id = ""
		}
		out[id]++
	}
	return out, nil
}
