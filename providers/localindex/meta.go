package localindex

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/aiflow/aiflow/providers"
)

const metaName = "meta.json"

// Metrics.
const (
	metricCosine    = "cosine"
	metricEuclidean = "euclidean"
	metricDot       = "dot-product"
)

const maxDimensions = 1 << 16

// metaFile is meta.json: what an index is, independent of its contents.
type metaFile struct {
	Format          int               `json:"format"`
	Dimensions      int               `json:"dimensions"`
	Metric          string            `json:"metric"`
	MetadataIndexes map[string]string `json:"metadata_indexes,omitempty"`
}

// params is an IndexSpec checked and completed with defaults.
type params struct {
	name     string
	dim      int
	metric   string
	mdIdx    map[string]string
	ann      bool
	m        int
	efBuild  int
	efSearch int
}

// newParams returns the params of an index with the default HNSW settings.
func newParams(name string, dim int, metric string) params {
	return params{name: name, dim: dim, metric: metric, m: 16, efBuild: 200, efSearch: 128}
}

// parseSpec validates spec; settings are backend-wide defaults that spec.Settings overrides.
func parseSpec(spec providers.IndexSpec, settings map[string]any) (params, error) {
	p := newParams(spec.Name, spec.Dimensions, spec.Metric)
	if p.metric == "" {
		p.metric = metricCosine
	}
	switch {
	case p.dim < 1 || p.dim > maxDimensions:
		return p, fmt.Errorf("index %q: dimensions must be between 1 and %d, got %d", spec.Name, maxDimensions, p.dim)
	case p.metric != metricCosine && p.metric != metricEuclidean && p.metric != metricDot:
		return p, fmt.Errorf("index %q: unknown metric %q (allowed: cosine, euclidean, dot-product)", spec.Name, spec.Metric)
	case spec.ANN != "" && spec.ANN != "hnsw":
		return p, fmt.Errorf("index %q: unknown ann %q (allowed: \"\" for exact search, hnsw)", spec.Name, spec.ANN)
	}
	p.ann = spec.ANN == "hnsw"
	for k, t := range spec.MetadataIndexes {
		if t != "string" && t != "number" && t != "boolean" {
			return p, fmt.Errorf("index %q: metadata index %q has type %q (allowed: string, number, boolean)", spec.Name, k, t)
		}
	}
	p.mdIdx = maps.Clone(spec.MetadataIndexes)
	all := maps.Clone(settings)
	if all == nil {
		all = map[string]any{}
	}
	maps.Copy(all, spec.Settings)
	if err := p.applySettings(all); err != nil {
		return p, fmt.Errorf("index %q: %w", spec.Name, err)
	}
	return p, nil
}

func (p *params) applySettings(s map[string]any) error {
	for _, o := range []struct {
		key      string
		dst      *int
		min, max int
	}{
		{"hnsw_m", &p.m, 4, 64},
		{"hnsw_ef_construction", &p.efBuild, 8, 4096},
		{"hnsw_ef_search", &p.efSearch, 1, 4096},
	} {
		v, ok := s[o.key]
		if !ok {
			continue
		}
		n, ok := intSetting(v)
		if !ok || n < o.min || n > o.max {
			return fmt.Errorf("setting %s: want an integer between %d and %d, got %v", o.key, o.min, o.max, v)
		}
		*o.dst = n
	}
	return nil
}

func intSetting(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), x == int64(int(x))
	case float64:
		return int(x), x == math.Trunc(x) && math.Abs(x) < 1<<31
	case json.Number:
		n, err := x.Int64()
		return int(n), err == nil
	}
	return 0, false
}

// checkMeta compares a stored meta.json with the spec being opened.
func (p params) checkMeta(m metaFile) error {
	if m.Dimensions != p.dim || m.Metric != p.metric {
		return fmt.Errorf("index %q exists with %d dimensions and metric %s; the spec asks for %d dimensions and metric %s (delete the index to change them)",
			p.name, m.Dimensions, m.Metric, p.dim, p.metric)
	}
	return nil
}

// checkOpen compares the params of an index already open in this process.
func (p params) checkOpen(q params) error {
	if err := p.checkMeta(metaFile{Dimensions: q.dim, Metric: q.metric}); err != nil {
		return err
	}
	if p.ann != q.ann {
		return fmt.Errorf("index %q is already open with ann %q", p.name, annName(q.ann))
	}
	return nil
}

func annName(ann bool) string {
	if ann {
		return "hnsw"
	}
	return ""
}

func readMeta(dir string) (metaFile, bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, metaName))
	if errors.Is(err, fs.ErrNotExist) {
		return metaFile{}, false, nil
	}
	if err != nil {
		return metaFile{}, false, fmt.Errorf("reading index metadata: %w", err)
	}
	var m metaFile
	if err := json.Unmarshal(b, &m); err != nil {
		return metaFile{}, false, fmt.Errorf("reading %s: %w", filepath.Join(dir, metaName), err)
	}
	if m.Format != formatVersion {
		return metaFile{}, false, fmt.Errorf("%s: format %d, want %d", filepath.Join(dir, metaName), m.Format, formatVersion)
	}
	return m, true, nil
}

func writeMeta(dir string, p params) error {
	b, err := json.MarshalIndent(metaFile{Format: formatVersion, Dimensions: p.dim, Metric: p.metric, MetadataIndexes: p.mdIdx}, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, metaName), append(b, '\n')); err != nil {
		return fmt.Errorf("writing index metadata: %w", err)
	}
	return nil
}

// validName reports whether name is a safe directory name for an index.
func validName(name string) error {
	if name == "" || len(name) > 64 || name == "." || name == ".." {
		return fmt.Errorf("index name %q: want 1 to 64 characters", name)
	}
	for _, r := range name {
		if !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return fmt.Errorf("index name %q: only letters, digits, '-', '_' and '.' are allowed", name)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
