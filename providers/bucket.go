package providers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// ErrObjectNotFound is the cause of getting a key a bucket does not hold.
var ErrObjectNotFound = errors.New("no such key in the bucket")

// Object describes one object of a bucket.
type Object struct {
	Key         string
	Size        int64
	ContentType string
	Metadata    map[string]string
	ETag        string
}

// Bucket reads and writes the objects of one bucket (a `bucket` resource). Put and Get
// stream: memory does not grow with an object's size.
type Bucket interface {
	// Put stores size bytes from r under key (size < 0: unknown). Metadata keys are
	// lowercase ASCII.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string, meta map[string]string) (Object, error)
	// Get opens key; a missing key is an error wrapping ErrObjectNotFound.
	Get(ctx context.Context, key string) (io.ReadCloser, Object, error)
	// List returns up to limit objects whose keys start with prefix, in key order.
	List(ctx context.Context, prefix string, limit int) ([]Object, error)
	// Delete removes key; deleting a missing key succeeds.
	Delete(ctx context.Context, key string) error
}

// BucketBackend creates, inspects and deletes buckets of one kind of storage and opens
// them for objects.
type BucketBackend interface {
	// Exists reports whether the bucket is there.
	Exists(ctx context.Context, name string) (bool, error)
	// Create makes the bucket; creating one that exists is an error.
	Create(ctx context.Context, name string) error
	// Delete removes an empty bucket; deleting a missing one succeeds.
	Delete(ctx context.Context, name string) error
	// Open returns the bucket's objects.
	Open(name string) (Bucket, error)
}

// BucketConfig is what a bucket backend needs to start: the state directory for the
// local backend; for r2 the Cloudflare account (bucket management) and the S3
// credentials and endpoint (objects), all from the resource's settings.
type BucketConfig struct {
	StateDir   string
	Settings   map[string]any
	Account    *CloudflareAccount // nil unless the resource names a provider
	HTTPClient *http.Client       // replaces the default transport (tests point it at emulators)
	Retry      RetryPolicy
}

// BucketBackendInfo registers a bucket backend ("local", "r2").
type BucketBackendInfo struct {
	Name string
	New  func(BucketConfig) (BucketBackend, error)
}

var (
	bucketsMu sync.RWMutex
	buckets   = map[string]BucketBackendInfo{}
)

// MustRegisterBucketBackend registers a bucket backend at init; it panics on duplicates.
func MustRegisterBucketBackend(info BucketBackendInfo) {
	bucketsMu.Lock()
	defer bucketsMu.Unlock()
	if _, dup := buckets[info.Name]; dup || info.Name == "" || info.New == nil {
		panic(fmt.Sprintf("bucket backend %q: bad or duplicate registration", info.Name))
	}
	buckets[info.Name] = info
}

// LookupBucketBackend returns a registered bucket backend.
func LookupBucketBackend(name string) (BucketBackendInfo, bool) {
	bucketsMu.RLock()
	defer bucketsMu.RUnlock()
	b, ok := buckets[name]
	return b, ok
}

// MaxKeyLen is the longest object key, in bytes (S3's and R2's limit).
const MaxKeyLen = 1024

// CheckKey refuses object keys that could escape a folder or confuse a listing: empty,
// longer than MaxKeyLen, not UTF-8, absolute (leading /), with a backslash, a ".." or
// "." path element, an empty element (//), or control characters. The error says which
// and what is accepted.
func CheckKey(key string) error {
	const accepted = "keys are relative paths of words joined by /, such as images/cat-1.png"
	switch {
	case key == "":
		return fmt.Errorf("empty object key; %s", accepted)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("object key is %d bytes; the limit is %d", len(key), MaxKeyLen)
	case !utf8.ValidString(key):
		return fmt.Errorf("object key %q is not UTF-8", key)
	case strings.HasPrefix(key, "/"):
		return fmt.Errorf("object key %q is absolute; %s", key, accepted)
	case strings.Contains(key, `\`):
		return fmt.Errorf("object key %q has a backslash; %s", key, accepted)
	}
	for _, r := range key {
		if unicode.IsControl(r) {
			return fmt.Errorf("object key %q has a control character (%U); %s", key, r, accepted)
		}
	}
	for _, el := range strings.Split(key, "/") {
		switch el {
		case "..":
			return fmt.Errorf("object key %q has a .. element; %s", key, accepted)
		case ".":
			return fmt.Errorf("object key %q has a . element; %s", key, accepted)
		case "":
			if !strings.HasSuffix(key, "/") || strings.HasSuffix(key, "//") {
				return fmt.Errorf("object key %q has an empty element (//); %s", key, accepted)
			}
		}
	}
	return nil
}

// CheckPrefix is CheckKey for a listing prefix, which may be empty or end in /.
func CheckPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	return CheckKey(prefix)
}
