package crypt

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func encrypt(t testing.TB, kr *Keyring, plain []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	e, err := kr.NewEncrypter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	// Odd write sizes exercise the segment buffering.
	for p := plain; len(p) > 0; {
		n := min(len(p), 1+len(p)%7919)
		if _, err := e.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decrypt(kr *Keyring, ct []byte) ([]byte, error) {
	d, err := kr.NewDecrypter(bytes.NewReader(ct))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(d)
}

func TestRoundTripSizes(t *testing.T) {
	kr, err := NewKeyring(newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 15, 16, SegmentSize - 1, SegmentSize, SegmentSize + 1, 2 * SegmentSize, 3*SegmentSize + 12345} {
		plain := make([]byte, n)
		rand.Read(plain)
		ct := encrypt(t, kr, plain)
		if int64(len(ct)) != CipherSize(int64(n)) {
			t.Errorf("size %d: stored %d bytes, CipherSize says %d", n, len(ct), CipherSize(int64(n)))
		}
		if p, err := PlainSize(int64(len(ct))); err != nil || p != int64(n) {
			t.Errorf("size %d: PlainSize = %d, %v", n, p, err)
		}
		if n > 16 && bytes.Contains(ct, plain[:16]) {
			t.Errorf("size %d: plaintext visible in ciphertext", n)
		}
		got, err := decrypt(kr, ct)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("size %d: round trip: %v (got %d bytes)", n, err, len(got))
		}
	}
}

func TestTamperingAndTruncationFail(t *testing.T) {
	kr, _ := NewKeyring(newKey(t))
	plain := make([]byte, 3*SegmentSize+100)
	rand.Read(plain)
	ct := encrypt(t, kr, plain)
	flip := func(i int) []byte { c := bytes.Clone(ct); c[i] ^= 1; return c }
	seg := SegmentSize + TagSize
	// Swap the first two segments.
	swapped := bytes.Clone(ct)
	copy(swapped[HeaderSize:], ct[HeaderSize+seg:HeaderSize+2*seg])
	copy(swapped[HeaderSize+seg:], ct[HeaderSize:HeaderSize+seg])
	tests := []struct {
		name string
		ct   []byte
		want error
	}{
		{"bit flip in wrapped key", flip(HeaderSize - 5), ErrCorrupt},
		{"bit flip in nonce prefix", flip(8 + idSize), ErrCorrupt},
		{"bit flip in body", flip(HeaderSize + 1000), ErrCorrupt},
		{"bit flip in last tag", flip(len(ct) - 1), ErrCorrupt},
		{"truncated at a segment boundary", ct[:HeaderSize+3*seg], ErrCorrupt},
		{"truncated mid segment", ct[:HeaderSize+seg+77], ErrCorrupt},
		{"last segment dropped and extra bytes", append(bytes.Clone(ct[:HeaderSize+seg]), 1), ErrCorrupt},
		{"segments reordered", swapped, ErrCorrupt},
		{"header only", ct[:HeaderSize], ErrCorrupt},
		{"truncated header", ct[:HeaderSize-1], ErrCorrupt},
		{"plain bytes", []byte("not encrypted at all, just a file"), ErrNotEncrypted},
		{"empty", nil, ErrNotEncrypted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decrypt(kr, tc.ct)
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestWrongKeyAndRotation(t *testing.T) {
	oldKey, newKeyB := newKey(t), newKey(t)
	oldRing, _ := NewKeyring(oldKey)
	plain := []byte(strings.Repeat("unreleased video ", 9000))
	ct := encrypt(t, oldRing, plain)

	other, _ := NewKeyring(newKeyB)
	if _, err := decrypt(other, ct); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("other key: %v, want ErrUnknownKey", err)
	}
	// Rotation: the new key is active, the old one still configured.
	rotated, _ := NewKeyring(newKeyB, oldKey)
	if got, err := decrypt(rotated, ct); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("old object with rotated ring: %v", err)
	}
	h, changed, err := rotated.Rewrap(ct[:HeaderSize])
	if err != nil || !changed || len(h) != HeaderSize {
		t.Fatalf("rewrap: %v changed=%v", err, changed)
	}
	re := append(bytes.Clone(h), ct[HeaderSize:]...)
	if id, _ := HeaderKeyID(re); id != rotated.KeyID() {
		t.Errorf("rewrapped header names %s, want %s", id, rotated.KeyID())
	}
	// After rewrapping, the old key can be dropped.
	if got, err := decrypt(other, re); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("rewrapped object with new key only: %v", err)
	}
	if _, changed, _ := rotated.Rewrap(re[:HeaderSize]); changed {
		t.Error("rewrap of a current header changed it")
	}
	if _, err := decrypt(oldRing, re); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("old key on rewrapped object: %v", err)
	}
}

func TestRanges(t *testing.T) {
	kr, _ := NewKeyring(newKey(t))
	rng := mrand.New(mrand.NewPCG(1, 2))
	for _, n := range []int{1, 100, SegmentSize, 2*SegmentSize + 5, 5 * SegmentSize} {
		plain := make([]byte, n)
		rand.Read(plain)
		ct := encrypt(t, kr, plain)
		cases := [][2]int64{{0, -1}, {0, 1}, {int64(n - 1), 1}, {int64(n - 1), -1}, {0, int64(n)}, {0, int64(n) + 10}}
		for range 20 {
			off := rng.Int64N(int64(n))
			cases = append(cases, [2]int64{off, rng.Int64N(int64(n)-off) + 1})
		}
		for _, c := range cases {
			rg, err := PlanRange(int64(len(ct)), c[0], c[1])
			if err != nil {
				t.Fatalf("n=%d plan %v: %v", n, c, err)
			}
			d, err := kr.NewRangeDecrypter(ct[:HeaderSize], bytes.NewReader(ct[rg.Offset:rg.Offset+rg.Length]), rg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(d)
			end := int64(n)
			if c[1] >= 0 && c[0]+c[1] < end {
				end = c[0] + c[1]
			}
			if err != nil || !bytes.Equal(got, plain[c[0]:end]) {
				t.Errorf("n=%d range %v: %v, %d bytes", n, c, err, len(got))
			}
		}
		if _, err := PlanRange(int64(len(ct)), int64(n), 1); err == nil {
			t.Errorf("n=%d: range at the end accepted", n)
		}
	}
}

func TestSealOpen(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	kr, _ := NewKeyring(k1)
	s, err := kr.Seal([]byte("whsec_123"), "webhook:1")
	if err != nil || !IsSealed(s) || strings.Contains(s, "whsec") {
		t.Fatalf("seal: %q %v", s, err)
	}
	if p, err := kr.Open(s, "webhook:1"); err != nil || string(p) != "whsec_123" {
		t.Fatalf("open: %q %v", p, err)
	}
	if _, err := kr.Open(s, "webhook:2"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("other context: %v", err)
	}
	if _, err := kr.Open("whsec_123", "webhook:1"); !errors.Is(err, ErrNotEncrypted) {
		t.Errorf("plain value: %v", err)
	}
	if _, err := kr.Open(s[:len(s)-3], "webhook:1"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("truncated: %v", err)
	}
	rotated, _ := NewKeyring(k2, k1)
	s2, err := rotated.Reseal(s, "webhook:1")
	if err != nil {
		t.Fatal(err)
	}
	only2, _ := NewKeyring(k2)
	if p, err := only2.Open(s2, "webhook:1"); err != nil || string(p) != "whsec_123" {
		t.Errorf("resealed: %q %v", p, err)
	}
	if _, err := only2.Open(s, "webhook:1"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("old sealed value with new key only: %v", err)
	}
}

func TestLoadKeyring(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	b64 := base64.StdEncoding.EncodeToString
	dir := t.TempDir()
	good := filepath.Join(dir, "kek")
	os.WriteFile(good, []byte("# active first\n"+b64(k2)+"\n"+b64(k1)+"\n"), 0o600)
	loose := filepath.Join(dir, "loose")
	os.WriteFile(loose, []byte(b64(k1)), 0o644)
	want1, _ := NewKeyring(k1)
	want2, _ := NewKeyring(k2)
	tests := []struct {
		name, env, file string
		wantID          string
		wantErr         string
	}{
		{"off", "", "", "", ""},
		{"env", b64(k1), "", want1.KeyID(), ""},
		{"env raw url base64", base64.RawURLEncoding.EncodeToString(k1), "", want1.KeyID(), ""},
		{"env first of two", b64(k1) + "," + b64(k2), "", want1.KeyID(), ""},
		{"file", "", good, want2.KeyID(), ""},
		{"env before file", b64(k1), good, want1.KeyID(), ""},
		{"short key", b64(k1[:16]), "", "", "16 bytes"},
		{"not base64", "%%%", "", "", "not base64"},
		{"missing file", "", filepath.Join(dir, "nope"), "", "no such file"},
		{"file readable by others", "", loose, "", "chmod 600"},
		{"blank", "  ", "", "", "holds no key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kr, err := LoadKeyring(tc.env, tc.file)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantID == "" {
				if kr != nil {
					t.Fatal("keyring without keys")
				}
				return
			}
			if kr.KeyID() != tc.wantID {
				t.Errorf("active key %s, want %s", kr.KeyID(), tc.wantID)
			}
		})
	}
}

func BenchmarkEncrypt(b *testing.B) {
	kr, _ := NewKeyring(newKey(b))
	data := make([]byte, 8<<20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		e, _ := kr.NewEncrypter(io.Discard)
		e.Write(data)
		e.Close()
	}
}

func BenchmarkDecrypt(b *testing.B) {
	kr, _ := NewKeyring(newKey(b))
	data := make([]byte, 8<<20)
	ct := encrypt(b, kr, data)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		d, _ := kr.NewDecrypter(bytes.NewReader(ct))
		io.Copy(io.Discard, d)
	}
}
