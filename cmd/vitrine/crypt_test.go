package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/api"
	"github.com/vitrine-dev/vitrine/internal/blob"
	"github.com/vitrine-dev/vitrine/internal/crypt"
	"github.com/vitrine-dev/vitrine/internal/store"
)

// TestCryptCommand: keygen, then the documented rotation on an install
// whose blobs were written in the clear, then under an old key.
func TestCryptCommand(t *testing.T) {
	ctx := context.Background()
	keygen := func() string {
		out, errOut, code := vitrine(t, cleanEnv(), "crypt", "keygen")
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(out))
		if code != 0 || err != nil || len(k) != 32 {
			t.Fatalf("crypt keygen: exit %d %q %q", code, out, errOut)
		}
		return strings.TrimSpace(out)
	}
	oldKEK, newKEK := keygen(), keygen()
	if oldKEK == newKEK {
		t.Fatal("keygen repeats itself")
	}
	dataDir := t.TempDir()
	dd := "--data-dir=" + dataDir
	blobs := filepath.Join(dataDir, "blobs")

	if _, errOut, code := vitrine(t, cleanEnv(), "crypt", "rotate", dd); code == 0 || !strings.Contains(errOut, "no key-encryption key") {
		t.Errorf("rotate without a key: exit %d %q", code, errOut)
	}
	// Objects from before encryption, then some under the old key.
	put := func(kr *crypt.Keyring, key, val string) {
		s, err := blob.OpenWith(ctx, blobs, blob.Options{Keyring: kr})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Put(ctx, key, strings.NewReader(val), "text/plain"); err != nil {
			t.Fatal(err)
		}
	}
	ring := func(keys ...string) *crypt.Keyring {
		kr, err := crypt.LoadKeyring(strings.Join(keys, ","), "")
		if err != nil {
			t.Fatal(err)
		}
		return kr
	}
	put(nil, "videos/a/source", "clear video")
	put(ring(oldKEK), "videos/b/source", "old-key video")
	put(ring(oldKEK), "catalog/images/c", "old-key image")

	both := cleanEnv("VITRINE_KEK=" + newKEK + "," + oldKEK)
	out, errOut, code := vitrine(t, both, "crypt", "status", dd)
	if code != 0 || !strings.Contains(out, "(not encrypted)") || !strings.Contains(out, ring(newKEK).KeyID()) {
		t.Fatalf("crypt status: exit %d %q %q", code, out, errOut)
	}
	out, errOut, code = vitrine(t, both, "crypt", "rotate", dd)
	if code != 0 || !strings.Contains(out, "3 objects: 2 rewrapped, 1 encrypted, 0 already current") {
		t.Fatalf("crypt rotate: exit %d %q %q", code, out, errOut)
	}
	if out, _, _ := vitrine(t, both, "crypt", "rotate", dd); !strings.Contains(out, "0 rewrapped, 0 encrypted, 3 already current") {
		t.Errorf("second rotate: %q", out)
	}
	// The old key can go: everything reads with the new one alone.
	s, err := blob.OpenWith(ctx, blobs, blob.Options{Keyring: ring(newKEK)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for key, want := range map[string]string{"videos/a/source": "clear video", "videos/b/source": "old-key video", "catalog/images/c": "old-key image"} {
		r, err := s.Get(ctx, key)
		if err != nil {
			t.Fatalf("%s with the new key only: %v", key, err)
		}
		got, _ := io.ReadAll(r)
		r.Close()
		if !bytes.Equal(got, []byte(want)) {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	// The rotation is in the audit log.
	db, err := store.Open(ctx, filepath.Join(dataDir, "vitrine.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	db.Read.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE method = 'CLI' AND route = 'crypt rotate'`).Scan(&n)
	if n != 2 {
		t.Errorf("%d crypt rotate entries in the audit log, want 2", n)
	}
}

// TestCryptSeal seals a secret from stdin for commerce.toml.
func TestCryptSeal(t *testing.T) {
	kek, _ := crypt.GenerateKey()
	run := func(env []string, in string) (string, string, error) {
		cmd := exec.Command(binPath, "crypt", "seal", "--data-dir", t.TempDir())
		cmd.Env = env
		cmd.Stdin = strings.NewReader(in)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		return o.String(), e.String(), err
	}
	out, errOut, err := run(cleanEnv("VITRINE_KEK="+kek), "Bearer shop-token\n")
	if err != nil {
		t.Fatalf("crypt seal: %v %s", err, errOut)
	}
	sealed := strings.TrimSpace(out)
	kr, _ := crypt.LoadKeyring(kek, "")
	if got, err := kr.Open(sealed, api.UpstreamAuthContext); err != nil || string(got) != "Bearer shop-token" {
		t.Errorf("sealed %q opens to %q (%v)", sealed, got, err)
	}
	if _, errOut, err := run(cleanEnv(), "x"); err == nil || !strings.Contains(errOut, "no key-encryption key") {
		t.Errorf("seal without a key: %v %q", err, errOut)
	}
	if _, errOut, err := run(cleanEnv("VITRINE_KEK="+kek), ""); err == nil || !strings.Contains(errOut, "empty secret") {
		t.Errorf("seal of nothing: %v %q", err, errOut)
	}
}
