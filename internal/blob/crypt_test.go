package blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/blob/blobtest"
	"github.com/vitrine-dev/vitrine/internal/crypt"
)

func keyring(t *testing.T, keys ...[]byte) *crypt.Keyring {
	t.Helper()
	kr, err := crypt.NewKeyring(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func randomKey() []byte { k := make([]byte, 32); rand.Read(k); return k }

func openWith(t *testing.T, u string, kr *crypt.Keyring) *Store {
	t.Helper()
	s, err := OpenWith(context.Background(), u, Options{Keyring: kr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func read(t *testing.T, s *Store, key string) ([]byte, error) {
	t.Helper()
	r, err := s.Get(context.Background(), key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func TestEncryptedRoundTripAndRanges(t *testing.T) {
	ctx := context.Background()
	data := make([]byte, 3*crypt.SegmentSize+999)
	rand.Read(data)
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			u := b.url(t)
			s := openWith(t, u, keyring(t, randomKey()))
			if err := s.Put(ctx, "videos/1/original.mp4", bytes.NewReader(data), "video/mp4"); err != nil {
				t.Fatal(err)
			}
			got, err := read(t, s, "videos/1/original.mp4")
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("get: %v, %d bytes", err, len(got))
			}
			a, err := s.Attributes(ctx, "videos/1/original.mp4")
			if err != nil || a.Size != int64(len(data)) || a.ContentType != "video/mp4" {
				t.Fatalf("attributes: %+v %v", a, err)
			}
			for _, rg := range [][2]int64{{0, 10}, {crypt.SegmentSize - 3, 7}, {int64(len(data)) - 5, -1}, {100, 2 * crypt.SegmentSize}} {
				r, err := s.GetRange(ctx, "videos/1/original.mp4", rg[0], rg[1])
				if err != nil {
					t.Fatalf("range %v: %v", rg, err)
				}
				got, err := io.ReadAll(r)
				r.Close()
				end := int64(len(data))
				if rg[1] >= 0 {
					end = rg[0] + rg[1]
				}
				if err != nil || !bytes.Equal(got, data[rg[0]:end]) {
					t.Errorf("range %v: %v, %d bytes", rg, err, len(got))
				}
			}
			// The same bucket opened without the key refuses to hand out ciphertext.
			plain := open(t, u)
			if _, err := read(t, plain, "videos/1/original.mp4"); !errors.Is(err, ErrEncrypted) {
				t.Errorf("get without key: %v, want ErrEncrypted", err)
			}
		})
	}
}

func TestEncryptedOnDisk(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "blobs")
	s := openWith(t, dir, keyring(t, randomKey()))
	secret := bytes.Repeat([]byte("UNRELEASED-PRODUCT-LAUNCH "), 5000)
	if err := s.Put(context.Background(), "videos/9/original.mp4", bytes.NewReader(secret), "video/mp4"); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "videos", "9", "original.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("UNRELEASED")) || !crypt.IsEncrypted(raw) {
		t.Fatal("object is stored in the clear")
	}
	if int64(len(raw)) != crypt.CipherSize(int64(len(secret))) {
		t.Errorf("stored %d bytes, want %d", len(raw), crypt.CipherSize(int64(len(secret))))
	}
	// Tampering with the stored file is detected on read.
	raw[len(raw)/2] ^= 0x40
	os.WriteFile(filepath.Join(dir, "videos", "9", "original.mp4"), raw, 0o640)
	if _, err := read(t, s, "videos/9/original.mp4"); !errors.Is(err, crypt.ErrCorrupt) {
		t.Errorf("tampered object: %v, want ErrCorrupt", err)
	}
}

// TestKEKRotation is the documented procedure: put the new KEK first and
// keep the old one, rewrap every object, then drop the old KEK.
func TestKEKRotation(t *testing.T) {
	ctx := context.Background()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			u := b.url(t)
			oldK, newK := randomKey(), randomKey()
			legacy := open(t, u)
			if err := legacy.Put(ctx, "catalog/legacy.jpg", bytes.NewReader([]byte("plain jpeg bytes")), "image/jpeg"); err != nil {
				t.Fatal(err)
			}
			before := openWith(t, u, keyring(t, oldK))
			objs := map[string][]byte{"legacy": []byte("plain jpeg bytes")}
			for _, k := range []string{"videos/1/original.mp4", "thumbs/1/0.jpg"} {
				d := make([]byte, crypt.SegmentSize+77)
				rand.Read(d)
				objs[k] = d
				if err := before.Put(ctx, k, bytes.NewReader(d), "application/octet-stream"); err != nil {
					t.Fatal(err)
				}
			}
			objs["catalog/legacy.jpg"] = objs["legacy"]
			delete(objs, "legacy")
			oldBody, _ := before.bucket.ReadAll(ctx, "videos/1/original.mp4")

			during := openWith(t, u, keyring(t, newK, oldK))
			want := map[string]RewrapResult{"catalog/legacy.jpg": Encrypted, "videos/1/original.mp4": Rewrapped, "thumbs/1/0.jpg": Rewrapped}
			for k, w := range want {
				if got, err := during.Rewrap(ctx, k); err != nil || got != w {
					t.Errorf("rewrap %s: %v %v, want %v", k, got, err, w)
				}
				if got, err := during.Rewrap(ctx, k); err != nil || got != Unchanged {
					t.Errorf("second rewrap %s: %v %v", k, got, err)
				}
			}
			newBody, _ := during.bucket.ReadAll(ctx, "videos/1/original.mp4")
			if !bytes.Equal(oldBody[crypt.HeaderSize:], newBody[crypt.HeaderSize:]) {
				t.Error("rewrap re-encrypted the body instead of only the header")
			}
			after := openWith(t, u, keyring(t, newK))
			for k, d := range objs {
				if got, err := read(t, after, k); err != nil || !bytes.Equal(got, d) {
					t.Errorf("%s with the new KEK only: %v", k, err)
				}
				if a, err := after.Attributes(ctx, k); err != nil || a.Size != int64(len(d)) {
					t.Errorf("%s attributes: %+v %v", k, a, err)
				}
			}
			if _, err := read(t, openWith(t, u, keyring(t, oldK)), "videos/1/original.mp4"); !errors.Is(err, crypt.ErrUnknownKey) {
				t.Errorf("old KEK after rotation: %v, want ErrUnknownKey", err)
			}
		})
	}
}

// TestS3ServerSideEncryptionURL: server-side encryption is configured in
// the store URL (ssetype=AES256 or aws:kms with kmskeyid), next to or
// instead of vitrine's own encryption.
func TestS3ServerSideEncryptionURL(t *testing.T) {
	u := blobtest.S3URL(t) + "&ssetype=AES256"
	s := openWith(t, u, keyring(t, randomKey()))
	ctx := context.Background()
	if err := s.Put(ctx, "videos/1/source", bytes.NewReader([]byte("sse and client-side")), "video/mp4"); err != nil {
		t.Fatalf("put with ssetype: %v", err)
	}
	if got, err := read(t, s, "videos/1/source"); err != nil || string(got) != "sse and client-side" {
		t.Fatalf("get: %q %v", got, err)
	}
	if _, err := OpenWith(ctx, blobtest.S3URL(t)+"&ssetype=ROT13", Options{}); err == nil {
		t.Error("an unknown ssetype was accepted")
	}
}
