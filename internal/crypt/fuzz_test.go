package crypt

import (
	"bytes"
	"io"
	"testing"
)

// FuzzDecrypt feeds arbitrary stored bytes to the decrypter: it must fail
// cleanly, and only a complete object may decrypt.
func FuzzDecrypt(f *testing.F) {
	key := bytes.Repeat([]byte{7}, 32)
	kr, err := NewKeyring(key)
	if err != nil {
		f.Fatal(err)
	}
	valid := encrypt(f, kr, []byte("hello, segment"))
	f.Add(valid)
	f.Add(valid[:HeaderSize])
	f.Add([]byte("VTRENC\x01\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := kr.NewDecrypter(bytes.NewReader(b))
		if err == nil {
			got, err := io.ReadAll(d)
			// Only a complete object authenticates, so its size must fit.
			if err == nil && CipherSize(int64(len(got))) != int64(len(b)) {
				t.Fatalf("%d stored bytes decrypted to %d bytes", len(b), len(got))
			}
		}
		if n := int64(len(b)); n > 0 {
			if p, err := PlainSize(n); err == nil {
				if CipherSize(p) != n {
					t.Fatalf("PlainSize(%d) = %d but CipherSize(%d) = %d", n, p, p, CipherSize(p))
				}
				if p > 0 {
					if _, err := PlanRange(n, p-1, 10); err != nil {
						t.Fatalf("plan range: %v", err)
					}
				}
			}
		}
	})
}
