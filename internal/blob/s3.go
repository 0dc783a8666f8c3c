package blob

import (
	"context"

	gcblob "gocloud.dev/blob"
	_ "gocloud.dev/blob/s3blob" // registers the s3:// URL opener
)

// Multipart upload parameters of Put on S3: 8 MiB parts (S3 allows 10,000
// parts, so objects up to 80 GB), four in flight (32 MiB of buffers).
const (
	s3PartSize        = 8 << 20
	s3PartConcurrency = 4
)

func init() {
	// The s3blob opener reads endpoint, region and use_path_style from the
	// URL query and credentials from the usual AWS environment.
	openS3 = func(ctx context.Context, u string) (*gcblob.Bucket, error) {
		return gcblob.OpenBucket(ctx, u)
	}
}
