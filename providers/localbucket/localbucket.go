// Package localbucket is the "local" bucket backend: a folder under the state directory,
// the offline default for `bucket` resources. Each object is two files named by the
// SHA-256 of its key, the bytes and a JSON sidecar (key, content type, metadata), so a key
// never becomes a path: "a" and "a/b" can both exist, and no key reaches outside the folder.
package localbucket

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aiflow/aiflow/providers"
)

func init() {
	providers.MustRegisterBucketBackend(providers.BucketBackendInfo{Name: "local", New: New})
}

// Dir is the folder of bucket name under stateDir.
func Dir(stateDir, name string) string { return filepath.Join(stateDir, "buckets", name) }

// New returns the local backend of the state directory.
func New(cfg providers.BucketConfig) (providers.BucketBackend, error) {
	if cfg.StateDir == "" {
		return nil, errors.New("local bucket: no state directory")
	}
	return backend{stateDir: cfg.StateDir}, nil
}

type backend struct{ stateDir string }

func (b backend) Exists(_ context.Context, name string) (bool, error) {
	st, err := os.Stat(filepath.Join(Dir(b.stateDir, name), "objects"))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil && st.IsDir(), err
}

func (b backend) Create(_ context.Context, name string) error {
	return os.MkdirAll(filepath.Join(Dir(b.stateDir, name), "objects"), 0o755)
}

func (b backend) Delete(ctx context.Context, name string) error {
	objs, err := (&bucket{dir: Dir(b.stateDir, name)}).List(ctx, "", 1)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if len(objs) > 0 {
		return fmt.Errorf("local bucket %s is not empty", name)
	}
	return os.RemoveAll(Dir(b.stateDir, name))
}

func (b backend) Open(name string) (providers.Bucket, error) {
	return &bucket{dir: Dir(b.stateDir, name)}, nil
}

type bucket struct{ dir string }

// sidecar is what the .json file beside an object's bytes holds.
type sidecar struct {
	Key         string            `json:"key"`
	Size        int64             `json:"size"`
	ContentType string            `json:"content_type,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	ETag        string            `json:"etag"`
}

func (b *bucket) paths(key string) (data, meta string) {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	return filepath.Join(b.dir, "objects", h+".data"), filepath.Join(b.dir, "objects", h+".json")
}

func (b *bucket) Put(_ context.Context, key string, r io.Reader, size int64, contentType string, meta map[string]string) (providers.Object, error) {
	if err := providers.CheckKey(key); err != nil {
		return providers.Object{}, err
	}
	if err := os.MkdirAll(filepath.Join(b.dir, "tmp"), 0o755); err != nil {
		return providers.Object{}, fmt.Errorf("local bucket: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Join(b.dir, "tmp"), "put-*")
	if err != nil {
		return providers.Object{}, fmt.Errorf("local bucket: %w", err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), r)
	if err == nil && size >= 0 && n != size {
		err = fmt.Errorf("got %d bytes, expected %d", n, size)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return providers.Object{}, fmt.Errorf("local bucket: putting %s: %w", key, err)
	}
	o := providers.Object{Key: key, Size: n, ContentType: contentType, Metadata: meta, ETag: hex.EncodeToString(h.Sum(nil))}
	data, side := b.paths(key)
	if err := os.Rename(tmp.Name(), data); err != nil {
		return providers.Object{}, fmt.Errorf("local bucket: %w", err)
	}
	raw, _ := json.Marshal(sidecar{Key: key, Size: n, ContentType: contentType, Metadata: meta, ETag: o.ETag})
	if err := writeAtomic(side, raw); err != nil {
		return providers.Object{}, fmt.Errorf("local bucket: %w", err)
	}
	return o, nil
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func (b *bucket) Get(_ context.Context, key string) (io.ReadCloser, providers.Object, error) {
	if err := providers.CheckKey(key); err != nil {
		return nil, providers.Object{}, err
	}
	data, side := b.paths(key)
	sc, err := readSidecar(side)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, providers.Object{}, fmt.Errorf("%s: %w", key, providers.ErrObjectNotFound)
	}
	if err != nil {
		return nil, providers.Object{}, err
	}
	f, err := os.Open(data)
	if err != nil {
		return nil, providers.Object{}, fmt.Errorf("local bucket: %w", err)
	}
	return f, sc.object(), nil
}

func readSidecar(path string) (sidecar, error) {
	var sc sidecar
	raw, err := os.ReadFile(path)
	if err != nil {
		return sc, err
	}
	if err := json.Unmarshal(raw, &sc); err != nil {
		return sc, fmt.Errorf("local bucket: %s: %w", path, err)
	}
	return sc, nil
}

func (sc sidecar) object() providers.Object {
	return providers.Object{Key: sc.Key, Size: sc.Size, ContentType: sc.ContentType, Metadata: sc.Metadata, ETag: sc.ETag}
}

func (b *bucket) List(_ context.Context, prefix string, limit int) ([]providers.Object, error) {
	if err := providers.CheckPrefix(prefix); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(b.dir, "objects"))
	if err != nil {
		return nil, err
	}
	var out []providers.Object
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		sc, err := readSidecar(filepath.Join(b.dir, "objects", e.Name()))
		if err != nil {
			continue // a sidecar being replaced: the object is listed once it is whole
		}
		if strings.HasPrefix(sc.Key, prefix) {
			out = append(out, sc.object())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (b *bucket) Delete(_ context.Context, key string) error {
	if err := providers.CheckKey(key); err != nil {
		return err
	}
	data, side := b.paths(key)
	if err := os.Remove(side); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Remove(data); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
