package blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/blob/blobtest"
)

// TestS3MultipartUpload stores an object of several parts on a real S3
// server: it arrives whole, as a multipart upload (the ETag of a multipart
// object ends in -<parts>), and ranges of it read back exactly.
func TestS3MultipartUpload(t *testing.T) {
	ctx := context.Background()
	s := open(t, blobtest.S3URL(t))
	data := make([]byte, 2*s3PartSize+12345)
	rand.Read(data)
	if err := s.Put(ctx, "videos/big/original.mp4", bytes.NewReader(data), "video/mp4"); err != nil {
		t.Fatal(err)
	}
	a, err := s.bucket.Attributes(ctx, "videos/big/original.mp4")
	if err != nil {
		t.Fatal(err)
	}
	if a.Size != int64(len(data)) || !strings.HasSuffix(strings.Trim(a.ETag, `"`), "-3") {
		t.Errorf("size %d etag %s, want %d bytes uploaded in 3 parts", a.Size, a.ETag, len(data))
	}
	r, err := s.Get(ctx, "videos/big/original.mp4")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes (%v), not the %d written", len(got), err, len(data))
	}
	off := int64(s3PartSize - 100)
	rr, err := s.GetRange(ctx, "videos/big/original.mp4", off, 200)
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(rr)
	rr.Close()
	if !bytes.Equal(part, data[off:off+200]) {
		t.Error("range across a part boundary differs")
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
