package localindex

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/aiflow/aiflow/providers"
)

func init() {
	providers.MustRegisterIndexBackend(providers.IndexBackendInfo{Name: "local", New: newBackend})
}

var (
	_ providers.IndexBackend = (*backend)(nil)
	_ providers.VectorIndex  = (*Index)(nil)
)

// backend keeps indexes under <state dir>/indexes/<name>/.
type backend struct {
	root     string
	settings map[string]any
}

func newBackend(cfg providers.IndexBackendConfig) (providers.IndexBackend, error) {
	if cfg.StateDir == "" {
		return nil, errors.New("local index backend: no state directory configured")
	}
	return &backend{root: filepath.Join(cfg.StateDir, "indexes"), settings: cfg.Settings}, nil
}

func (b *backend) resolve(spec providers.IndexSpec) (string, params, error) {
	if err := validName(spec.Name); err != nil {
		return "", params{}, err
	}
	p, err := parseSpec(spec, b.settings)
	return filepath.Join(b.root, spec.Name), p, err
}

// Open opens the index named by spec, creating it when create is true.
func (b *backend) Open(ctx context.Context, spec providers.IndexSpec, create bool) (providers.VectorIndex, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir, p, err := b.resolve(spec)
	if err != nil {
		return nil, err
	}
	return openIndex(dir, p, create)
}

// Describe reports the stored dimensions, metric, metadata indexes and live count, even
// when they differ from spec. An index open in this process answers from memory; otherwise
// the files are scanned without taking the lock or loading vectors.
func (b *backend) Describe(ctx context.Context, spec providers.IndexSpec) (providers.IndexInfo, bool, error) {
	if err := ctx.Err(); err != nil {
		return providers.IndexInfo{}, false, err
	}
	if err := validName(spec.Name); err != nil {
		return providers.IndexInfo{}, false, err
	}
	dir := filepath.Join(b.root, spec.Name)
	if c := openCoreFor(dir); c != nil {
		info, err := c.info()
		return info, err == nil, err
	}
	m, ok, err := readMeta(dir)
	if err != nil || !ok {
		return providers.IndexInfo{}, false, err
	}
	n, err := countLive(dir, m)
	if err != nil {
		return providers.IndexInfo{}, false, fmt.Errorf("describing index %q: %w", spec.Name, err)
	}
	return providers.IndexInfo{Dimensions: m.Dimensions, Metric: m.Metric, Count: n, MetadataIndexes: m.MetadataIndexes}, true, nil
}

// Delete removes the index directory. It fails while the index is open anywhere; deleting
// a missing index succeeds.
func (b *backend) Delete(ctx context.Context, spec providers.IndexSpec) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validName(spec.Name); err != nil {
		return err
	}
	dir := filepath.Join(b.root, spec.Name)
	if openCoreFor(dir) != nil {
		return fmt.Errorf("index %q is open; close it before deleting it", spec.Name)
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	lf, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer lf.Close()
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("deleting index %q: %w", spec.Name, err)
	}
	return syncDir(b.root)
}
