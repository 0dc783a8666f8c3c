// Package blobtest gives tests a fresh bucket on the S3-compatible server
// named by $VITRINE_TEST_S3 (scripts/test.sh starts versitygw on loopback),
// so the blob conformance tests run against a real S3 implementation.
package blobtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// EnvS3 names the variable holding the test server's bucket URL, e.g.
// s3://vitrine-test?endpoint=http://127.0.0.1:7070&region=us-east-1&use_path_style=true
// (credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
const EnvS3 = "VITRINE_TEST_S3"

// S3URL creates an empty bucket for t on the test server and returns its
// s3:// URL; the bucket and its objects are removed when the test ends. It
// skips the test when $VITRINE_TEST_S3 is unset.
func S3URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvS3)
	if base == "" {
		t.Skipf("%s is not set: no S3-compatible server to test against (scripts/test.sh starts one)", EnvS3)
	}
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		t.Fatalf("%s is set but AWS_ACCESS_KEY_ID is not", EnvS3)
	}
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "s3" {
		t.Fatalf("%s=%q is not an s3:// URL (%v)", EnvS3, base, err)
	}
	cli := client(t, u)
	var b [5]byte
	rand.Read(b[:])
	name := "vt-" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cli.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	t.Cleanup(func() { removeBucket(t, cli, name) })
	u.Host = name
	return u.String()
}

func client(t testing.TB, u *url.URL) *s3.Client {
	t.Helper()
	q := u.Query()
	cfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithRegion(q.Get("region")))
	if err != nil {
		t.Fatalf("aws config: %v", err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if ep := q.Get("endpoint"); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
		o.UsePathStyle = q.Get("use_path_style") == "true"
	})
}

func removeBucket(t testing.TB, cli *s3.Client, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := s3.NewListObjectsV2Paginator(cli, &s3.ListObjectsV2Input{Bucket: aws.String(name)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Logf("list bucket %s: %v", name, err)
			return
		}
		for _, o := range page.Contents {
			if _, err := cli.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(name), Key: o.Key}); err != nil {
				t.Logf("delete %s/%s: %v", name, aws.ToString(o.Key), err)
			}
		}
	}
	if _, err := cli.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Logf("delete bucket %s: %v", name, err)
	}
}
