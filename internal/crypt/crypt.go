// Package crypt is vitrine's envelope encryption at rest.
//
// Every object gets its own random 256-bit data key (DEK). The object is
// encrypted with AES-256-GCM in 64 KiB segments, each with its own nonce
// (a per-object random prefix, the segment counter and a final-segment
// flag), so large videos stream in bounded memory, byte ranges decrypt
// without reading from the start, and truncation, reordering or splicing
// fail authentication. The DEK is wrapped (AES-256-GCM) by a key-encryption
// key (KEK) named in the object header by a key id.
//
// A Keyring holds the active KEK and any older ones. Rotating the KEK
// rewraps only the headers (Rewrap): the bulk ciphertext stays as it is.
//
// Object layout:
//
//	header (HeaderSize bytes):
//	  magic "VTRENC" | version 1 | reserved 0
//	  KEK id (8) | nonce prefix (7) | wrap nonce (12) | wrapped DEK (32 + 16 tag)
//	segments: AES-GCM(DEK, nonce = prefix|counter(4, BE)|final(1), plaintext <= 64 KiB) + 16-byte tag
//
// Small secrets (webhook secrets, shop credentials) stored in a database
// use Seal/Open with the same KEKs.
package crypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Sizes of the object format.
const (
	// SegmentSize is the plaintext size of every segment but the last.
	SegmentSize = 64 << 10
	// TagSize is the GCM tag appended to each segment.
	TagSize = 16
	// HeaderSize is the size of the object header.
	HeaderSize = 8 + idSize + prefixSize + nonceSize + keySize + TagSize

	keySize    = 32
	idSize     = 8
	prefixSize = 7
	nonceSize  = 12
	version    = 1
)

var magic = [6]byte{'V', 'T', 'R', 'E', 'N', 'C'}

// Errors returned (wrapped) by this package.
var (
	// ErrNotEncrypted means the data does not start with a vitrine header.
	ErrNotEncrypted = errors.New("crypt: not an encrypted object")
	// ErrUnknownKey means the object was wrapped by a KEK not in the keyring.
	ErrUnknownKey = errors.New("crypt: object was encrypted with a key-encryption key that is not configured")
	// ErrCorrupt means authentication failed: wrong key, tampering or truncation.
	ErrCorrupt = errors.New("crypt: authentication failed (corrupt, truncated or tampered data)")
)

type kek struct {
	id   [idSize]byte
	aead cipher.AEAD
}

// Keyring holds the active key-encryption key and older ones still needed
// to read objects written before a rotation.
type Keyring struct {
	primary kek
	byID    map[[idSize]byte]kek
}

// NewKeyring builds a keyring from raw 32-byte keys; the first is the
// active one, used for everything written.
func NewKeyring(keys ...[]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("crypt: keyring: no key-encryption key")
	}
	kr := &Keyring{byID: map[[idSize]byte]kek{}}
	for i, k := range keys {
		if len(k) != keySize {
			return nil, fmt.Errorf("crypt: keyring: key %d has %d bytes, want %d", i+1, len(k), keySize)
		}
		a, err := newGCM(k)
		if err != nil {
			return nil, fmt.Errorf("crypt: keyring: key %d: %w", i+1, err)
		}
		e := kek{id: keyID(k), aead: a}
		if i == 0 {
			kr.primary = e
		}
		kr.byID[e.id] = e
	}
	return kr, nil
}

func keyID(k []byte) [idSize]byte {
	h := sha256.Sum256(append([]byte("vitrine kek id\x00"), k...))
	var id [idSize]byte
	copy(id[:], h[:])
	return id
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// KeyID is the hex id of the active KEK (shown by `vitrine crypt status`).
func (kr *Keyring) KeyID() string { return hex.EncodeToString(kr.primary.id[:]) }

// GenerateKey returns a new random KEK, base64 encoded.
func GenerateKey() (string, error) {
	b := make([]byte, keySize)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("crypt: generate key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// ParseKeys reads base64 keys separated by commas, spaces or newlines;
// '#' starts a comment. The first key is the active one.
func ParseKeys(s string) ([][]byte, error) {
	var out [][]byte
	for ln, line := range strings.Split(s, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		for _, f := range strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\r' }) {
			k, err := base64.StdEncoding.DecodeString(f)
			if err != nil {
				k, err = base64.RawURLEncoding.DecodeString(f)
			}
			if err != nil {
				return nil, fmt.Errorf("crypt: parse keys: line %d: not base64", ln+1)
			}
			if len(k) != keySize {
				return nil, fmt.Errorf("crypt: parse keys: line %d: key has %d bytes, want %d (base64 of 32 random bytes)", ln+1, len(k), keySize)
			}
			out = append(out, k)
		}
	}
	return out, nil
}

// LoadKeyring reads the KEKs from env (VITRINE_KEK: base64 keys, active
// first) and/or a key file (same format, one per line). Keys from env come
// first. It returns nil, nil when neither is set: encryption is off.
func LoadKeyring(env, file string) (*Keyring, error) {
	var keys [][]byte
	if strings.TrimSpace(env) != "" {
		k, err := ParseKeys(env)
		if err != nil {
			return nil, fmt.Errorf("crypt: VITRINE_KEK: %w", err)
		}
		keys = append(keys, k...)
	}
	if file != "" {
		st, err := os.Stat(file)
		if err != nil {
			return nil, fmt.Errorf("crypt: key file: %w", err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("crypt: key file %s is readable by group or others (mode %v); chmod 600 it", file, st.Mode().Perm())
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("crypt: key file: %w", err)
		}
		k, err := ParseKeys(string(b))
		if err != nil {
			return nil, fmt.Errorf("crypt: key file %s: %w", file, err)
		}
		keys = append(keys, k...)
	}
	if len(keys) == 0 {
		if env != "" || file != "" {
			return nil, errors.New("crypt: the key-encryption key setting holds no key")
		}
		return nil, nil
	}
	return NewKeyring(keys...)
}

// header is a parsed object header.
type header struct {
	id      [idSize]byte
	prefix  [prefixSize]byte
	wrapped [nonceSize + keySize + TagSize]byte
}

func (h *header) marshal() []byte {
	b := make([]byte, 0, HeaderSize)
	b = append(b, magic[:]...)
	b = append(b, version, 0)
	b = append(b, h.id[:]...)
	b = append(b, h.prefix[:]...)
	b = append(b, h.wrapped[:]...)
	return b
}

// aad is what the DEK wrap authenticates besides the DEK.
func (h *header) aad() []byte {
	b := make([]byte, 0, 8+idSize+prefixSize)
	b = append(b, magic[:]...)
	b = append(b, version, 0)
	b = append(b, h.id[:]...)
	return append(b, h.prefix[:]...)
}

// IsEncrypted reports whether b starts with an object header.
func IsEncrypted(b []byte) bool {
	return len(b) >= 8 && bytes.Equal(b[:6], magic[:])
}

func parseHeader(b []byte) (*header, error) {
	if len(b) < HeaderSize || !IsEncrypted(b) {
		return nil, ErrNotEncrypted
	}
	if b[6] != version {
		return nil, fmt.Errorf("crypt: object format version %d is not supported", b[6])
	}
	h := &header{}
	o := 8
	o += copy(h.id[:], b[o:])
	o += copy(h.prefix[:], b[o:])
	copy(h.wrapped[:], b[o:])
	return h, nil
}

func (kr *Keyring) wrap(h *header, dek []byte) error {
	h.id = kr.primary.id
	nonce := h.wrapped[:nonceSize]
	if _, err := rand.Read(nonce); err != nil {
		return fmt.Errorf("crypt: wrap: %w", err)
	}
	kr.primary.aead.Seal(h.wrapped[nonceSize:nonceSize], nonce, dek, h.aad())
	return nil
}

func (kr *Keyring) unwrap(h *header) ([]byte, error) {
	k, ok := kr.byID[h.id]
	if !ok {
		return nil, fmt.Errorf("%w (key id %s)", ErrUnknownKey, hex.EncodeToString(h.id[:]))
	}
	dek, err := k.aead.Open(nil, h.wrapped[:nonceSize], h.wrapped[nonceSize:], h.aad())
	if err != nil {
		return nil, ErrCorrupt
	}
	return dek, nil
}

// HeaderKeyID is the hex KEK id an object header names.
func HeaderKeyID(b []byte) (string, error) {
	h, err := parseHeader(b)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.id[:]), nil
}

// Rewrap returns the header re-wrapped with the active KEK and whether it
// changed (false when it already uses the active KEK). The data key, and so
// the rest of the object, stays the same.
func (kr *Keyring) Rewrap(b []byte) ([]byte, bool, error) {
	h, err := parseHeader(b)
	if err != nil {
		return nil, false, err
	}
	if h.id == kr.primary.id {
		return b[:HeaderSize], false, nil
	}
	dek, err := kr.unwrap(h)
	if err != nil {
		return nil, false, fmt.Errorf("crypt: rewrap: %w", err)
	}
	if err := kr.wrap(h, dek); err != nil {
		return nil, false, err
	}
	return h.marshal(), true, nil
}

// segmentNonce is prefix | counter | final.
func segmentNonce(prefix [prefixSize]byte, n uint32, final bool) []byte {
	var nonce [nonceSize]byte
	copy(nonce[:], prefix[:])
	binary.BigEndian.PutUint32(nonce[prefixSize:], n)
	if final {
		nonce[nonceSize-1] = 1
	}
	return nonce[:]
}

// CipherSize is the stored size of a plaintext of n bytes.
func CipherSize(n int64) int64 {
	segs := (n + SegmentSize - 1) / SegmentSize
	if segs == 0 {
		segs = 1
	}
	return HeaderSize + n + segs*TagSize
}

// PlainSize is the plaintext size of a stored object of n bytes.
func PlainSize(n int64) (int64, error) {
	body := n - HeaderSize
	if body < TagSize {
		return 0, fmt.Errorf("crypt: object of %d bytes is too short: %w", n, ErrCorrupt)
	}
	segs := (body + SegmentSize + TagSize - 1) / (SegmentSize + TagSize)
	last := body - (segs-1)*(SegmentSize+TagSize)
	if segs > 1 && last <= TagSize {
		return 0, fmt.Errorf("crypt: object of %d bytes has an empty last segment: %w", n, ErrCorrupt)
	}
	if segs > 1<<32 {
		return 0, fmt.Errorf("crypt: object of %d bytes is too large", n)
	}
	return body - segs*TagSize, nil
}

// Seal encrypts a small secret for storage in a database column. context
// binds it to its place (for example "webhook:42"), so a value copied to
// another row does not open.
func (kr *Keyring) Seal(plaintext []byte, context string) (string, error) {
	nonce := make([]byte, nonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("crypt: seal: %w", err)
	}
	out := append([]byte{}, kr.primary.id[:]...)
	out = append(out, nonce...)
	out = kr.primary.aead.Seal(out, nonce, plaintext, []byte("vitrine secret\x00"+context))
	return sealPrefix + base64.RawStdEncoding.EncodeToString(out), nil
}

const sealPrefix = "vtrsec1:"

// IsSealed reports whether s is a value made by Seal.
func IsSealed(s string) bool { return strings.HasPrefix(s, sealPrefix) }

// Open decrypts a value made by Seal with the same context.
func (kr *Keyring) Open(sealed, context string) ([]byte, error) {
	if !IsSealed(sealed) {
		return nil, ErrNotEncrypted
	}
	b, err := base64.RawStdEncoding.DecodeString(sealed[len(sealPrefix):])
	if err != nil || len(b) < idSize+nonceSize+TagSize {
		return nil, fmt.Errorf("crypt: open secret: %w", ErrCorrupt)
	}
	var id [idSize]byte
	copy(id[:], b)
	k, ok := kr.byID[id]
	if !ok {
		return nil, fmt.Errorf("crypt: open secret: %w (key id %s)", ErrUnknownKey, hex.EncodeToString(id[:]))
	}
	p, err := k.aead.Open(nil, b[idSize:idSize+nonceSize], b[idSize+nonceSize:], []byte("vitrine secret\x00"+context))
	if err != nil {
		return nil, fmt.Errorf("crypt: open secret: %w", ErrCorrupt)
	}
	return p, nil
}

// Reseal re-encrypts a sealed value with the active KEK (rotation).
func (kr *Keyring) Reseal(sealed, context string) (string, error) {
	p, err := kr.Open(sealed, context)
	if err != nil {
		return "", err
	}
	return kr.Seal(p, context)
}
