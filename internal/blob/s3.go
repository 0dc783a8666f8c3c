package blob

import (
	"context"

	gcblob "gocloud.dev/blob"
	_ "gocloud.dev/blob/s3blob" // registers the s3:// URL opener
)

func init() {
	// The s3blob opener reads endpoint, region and use_path_style from the
	// URL query and credentials from the usual AWS environment.
	openS3 = func(ctx context.Context, u string) (*gcblob.Bucket, error) {
		return gcblob.OpenBucket(ctx, u)
	}
}
