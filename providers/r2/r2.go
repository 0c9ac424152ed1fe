// Package r2 is the "r2" bucket backend: Cloudflare R2. Buckets are created, read and
// deleted through the Cloudflare API (cloudflare-go's r2 package, with aiflow's
// retrying, redacting transport) when the resource names a workers-ai provider; objects
// always go through R2's S3-compatible API with the AWS SDK for Go v2 (a maintained S3
// client). Without a provider, bucket management uses the S3 API too (CreateBucket,
// HeadBucket, DeleteBucket), which R2 also serves and which any S3-compatible store
// (the one the tests start, say) understands.
//
// Settings: bucket_name (the bucket's name; default the resource's), access_key_id and
// secret_access_key (R2 API token credentials: write them as ${ env("…") }), endpoint
// (default https://<account_id>.r2.cloudflarestorage.com) and provider.
package r2

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/option"
	cfr2 "github.com/cloudflare/cloudflare-go/v6/r2"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/transport"
)

func init() {
	providers.MustRegisterBucketBackend(providers.BucketBackendInfo{Name: "r2", New: New})
}

// DefaultBaseURL is the Cloudflare API.
const DefaultBaseURL = "https://api.cloudflare.com/client/v4"

// requestTimeout bounds one S3 request that is not a transfer (head, list, delete).
const requestTimeout = 60 * time.Second

// Backend manages R2 buckets and opens them for objects.
type Backend struct {
	s3      *s3.Client
	buckets *cfr2.BucketService // nil: manage buckets through the S3 API
	account string
}

// New reads the credentials and endpoint from cfg.Settings.
func New(cfg providers.BucketConfig) (providers.BucketBackend, error) {
	key, _ := cfg.Settings["access_key_id"].(string)
	secret, _ := cfg.Settings["secret_access_key"].(string)
	if key == "" || secret == "" {
		return nil, errors.New(`r2 bucket: access_key_id and secret_access_key are required (an R2 API token's S3 credentials), e.g. access_key_id: ${ env("R2_ACCESS_KEY_ID") }`)
	}
	endpoint, _ := cfg.Settings["endpoint"].(string)
	b := &Backend{}
	if a := cfg.Account; a != nil {
		b.account = a.ID
		if endpoint == "" {
			endpoint = "https://" + a.ID + ".r2.cloudflarestorage.com"
		}
		base := a.BaseURL
		if base == "" {
			base = DefaultBaseURL
		}
		opts := transport.Options{Provider: "r2", Retry: cfg.Retry, Secrets: []string{a.Token, secret}}
		if cfg.HTTPClient != nil && cfg.HTTPClient.Transport != nil {
			opts.Base = cfg.HTTPClient.Transport
		}
		b.buckets = cfr2.NewBucketService(option.WithHTTPClient(transport.New(opts)), option.WithMaxRetries(0),
			option.WithBaseURL(strings.TrimSuffix(base, "/")+"/"), option.WithAPIToken(a.Token))
	}
	if endpoint == "" {
		return nil, errors.New("r2 bucket: set provider: to a workers-ai provider entry (its account_id gives the R2 endpoint), or endpoint: to an S3-compatible URL")
	}
	b.s3 = s3.New(s3.Options{
		Region:       "auto", // what R2 expects
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, ""),
		HTTPClient:   &http.Client{Timeout: 0},
		// Checksums only where the API requires them: R2 rejects some of the SDK's
		// default trailing checksums.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	return b, nil
}

// Exists asks the Cloudflare API, or HeadBucket.
func (b *Backend) Exists(ctx context.Context, name string) (bool, error) {
	if b.buckets != nil {
		_, err := b.buckets.Get(ctx, name, cfr2.BucketGetParams{AccountID: cloudflare.F(b.account)})
		if isNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("reading R2 bucket %q: %w", name, transport.Cause(err))
		}
		return true, nil
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	_, err := b.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(name)})
	if isS3NotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading bucket %q: %w", name, err)
	}
	return true, nil
}

// Create makes the bucket.
func (b *Backend) Create(ctx context.Context, name string) error {
	if b.buckets != nil {
		if _, err := b.buckets.New(ctx, cfr2.BucketNewParams{AccountID: cloudflare.F(b.account), Name: cloudflare.F(name)}); err != nil {
			return fmt.Errorf("creating R2 bucket %q: %w", name, transport.Cause(err))
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	if _, err := b.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		return fmt.Errorf("creating bucket %q: %w", name, err)
	}
	return nil
}

// Delete removes the (empty) bucket; a missing one is already deleted.
func (b *Backend) Delete(ctx context.Context, name string) error {
	if b.buckets != nil {
		_, err := b.buckets.Delete(ctx, name, cfr2.BucketDeleteParams{AccountID: cloudflare.F(b.account)})
		if err != nil && !isNotFound(err) {
			return fmt.Errorf("deleting R2 bucket %q: %w", name, transport.Cause(err))
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	_, err := b.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)})
	if err != nil && !isS3NotFound(err) {
		return fmt.Errorf("deleting bucket %q: %w", name, err)
	}
	return nil
}

// Open returns the bucket's objects; it makes no request.
func (b *Backend) Open(name string) (providers.Bucket, error) {
	return &bucket{c: b.s3, name: name}, nil
}

type bucket struct {
	c    *s3.Client
	name string
}

// Put uploads r. The SDK signs the payload's SHA-256, which needs a seekable body over
// plain HTTP; a reader that cannot seek is spooled to a temporary file first, so memory
// stays flat either way.
func (o *bucket) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string, meta map[string]string) (providers.Object, error) {
	if err := providers.CheckKey(key); err != nil {
		return providers.Object{}, err
	}
	body, n, cleanup, err := seekable(r, size)
	if err != nil {
		return providers.Object{}, fmt.Errorf("putting %s: %w", key, err)
	}
	defer cleanup()
	in := &s3.PutObjectInput{Bucket: aws.String(o.name), Key: aws.String(key), Body: body, ContentLength: aws.Int64(n), Metadata: meta}
	if contentType != "" {
		in.ContentType = aws.String(contentType)
	}
	out, err := o.c.PutObject(ctx, in)
	if err != nil {
		return providers.Object{}, fmt.Errorf("putting %s into bucket %s: %w", key, o.name, err)
	}
	return providers.Object{Key: key, Size: n, ContentType: contentType, Metadata: meta, ETag: strings.Trim(aws.ToString(out.ETag), `"`)}, nil
}

// seekable returns r as an io.ReadSeeker with its length.
func seekable(r io.Reader, size int64) (io.ReadSeeker, int64, func(), error) {
	if rs, ok := r.(io.ReadSeeker); ok && size >= 0 {
		return rs, size, func() {}, nil
	}
	f, err := os.CreateTemp("", "aiflow-r2-put-*")
	if err != nil {
		return nil, 0, nil, err
	}
	cleanup := func() { f.Close(); os.Remove(f.Name()) }
	n, err := io.Copy(f, r)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		cleanup()
		return nil, 0, nil, err
	}
	return f, n, cleanup, nil
}

// Get opens key for streaming.
func (o *bucket) Get(ctx context.Context, key string) (io.ReadCloser, providers.Object, error) {
	if err := providers.CheckKey(key); err != nil {
		return nil, providers.Object{}, err
	}
	out, err := o.c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(o.name), Key: aws.String(key)})
	if isS3NotFound(err) {
		return nil, providers.Object{}, fmt.Errorf("%s in bucket %s: %w", key, o.name, providers.ErrObjectNotFound)
	}
	if err != nil {
		return nil, providers.Object{}, fmt.Errorf("getting %s from bucket %s: %w", key, o.name, err)
	}
	obj := providers.Object{Key: key, Size: aws.ToInt64(out.ContentLength), ContentType: aws.ToString(out.ContentType),
		Metadata: out.Metadata, ETag: strings.Trim(aws.ToString(out.ETag), `"`)}
	return out.Body, obj, nil
}

// List pages through ListObjectsV2 until limit keys (0: all).
func (o *bucket) List(ctx context.Context, prefix string, limit int) ([]providers.Object, error) {
	if err := providers.CheckPrefix(prefix); err != nil {
		return nil, err
	}
	var out []providers.Object
	p := s3.NewListObjectsV2Paginator(o.c, &s3.ListObjectsV2Input{Bucket: aws.String(o.name), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing bucket %s: %w", o.name, err)
		}
		for _, c := range page.Contents {
			out = append(out, providers.Object{Key: aws.ToString(c.Key), Size: aws.ToInt64(c.Size), ETag: strings.Trim(aws.ToString(c.ETag), `"`)})
			if limit > 0 && len(out) == limit {
				return out, nil
			}
		}
	}
	return out, nil
}

// Delete removes key.
func (o *bucket) Delete(ctx context.Context, key string) error {
	if err := providers.CheckKey(key); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	_, err := o.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(o.name), Key: aws.String(key)})
	if err != nil && !isS3NotFound(err) {
		return fmt.Errorf("deleting %s from bucket %s: %w", key, o.name, err)
	}
	return nil
}

func isNotFound(err error) bool {
	var pe *providers.Error
	return errors.As(err, &pe) && pe.Status == http.StatusNotFound
}

func isS3NotFound(err error) bool {
	if err == nil {
		return false
	}
	var nsk *s3types.NoSuchKey
	var nsb *s3types.NoSuchBucket
	var nf *s3types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nsb) || errors.As(err, &nf) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "NotFound" || ae.ErrorCode() == "NoSuchBucket" || ae.ErrorCode() == "NoSuchKey")
}
