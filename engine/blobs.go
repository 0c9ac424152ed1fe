package engine

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/aiflow/aiflow/blob"
	"github.com/aiflow/aiflow/providers"
)

// BlobDir is where a state directory keeps blob bytes: blob() reads files into it, media
// steps write their images and audio into it, and `aiflow gc` sweeps what no run
// references.
func BlobDir(stateDir string) string {
	if stateDir == "" {
		return ""
	}
	return filepath.Join(stateDir, "blobs")
}

// Blobs gives steps the run's blob store (steps.BlobEnv).
func (e *runEnv) Blobs() *blob.Store { return blob.NewStore(BlobDir(e.opts.StateDir)) }

// Bucket opens the objects of bucket resource name for steps (steps.BucketEnv). A local
// bucket that does not exist yet is created, as a local vector index is; an r2 bucket
// must have been applied.
func (e *runEnv) Bucket(ctx context.Context, name string) (providers.Bucket, error) {
	rn, ok := e.fl.Resources[name]
	if !ok || rn.Spec.Kind != "bucket" {
		return nil, fmt.Errorf("%q is not a bucket resource", name)
	}
	scope := map[string]any{"vars": e.w.vars, "run": e.w.runInfo}
	settings := map[string]any{}
	for k, t := range rn.Settings {
		v, err := t.Eval(scope)
		if err != nil {
			return nil, fmt.Errorf("resource %q: %s", name, e.fl.Redact(err.Error()))
		}
		settings[k] = v
	}
	backend, _ := settings["backend"].(string)
	if backend == "" {
		backend = "local"
	}
	info, ok := providers.LookupBucketBackend(backend)
	if !ok {
		return nil, fmt.Errorf("resource %q: bucket backend %q is not available", name, backend)
	}
	cfg := providers.BucketConfig{StateDir: e.opts.StateDir, Settings: settings, HTTPClient: e.opts.HTTPClient}
	if pname, _ := settings["provider"].(string); pname != "" && backend != "local" {
		id, err := e.accountID(pname)
		if err != nil {
			return nil, fmt.Errorf("resource %q: %w", name, err)
		}
		cfg.Account = &providers.CloudflareAccount{ID: id}
	}
	be, err := info.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("resource %q: %w", name, err)
	}
	bucket, _ := settings["bucket_name"].(string)
	if bucket == "" {
		bucket = name
	}
	if backend == "local" {
		ok, err := be.Exists(ctx, bucket)
		if err != nil {
			return nil, fmt.Errorf("resource %q: checking the local bucket: %w", name, err)
		}
		if !ok {
			if err := be.Create(ctx, bucket); err != nil {
				return nil, fmt.Errorf("resource %q: %w", name, err)
			}
		}
	}
	return be.Open(bucket)
}

// accountID evaluates the account_id of providers: entry name (objects of an r2 bucket
// are reached at <account_id>.r2.cloudflarestorage.com).
func (e *runEnv) accountID(name string) (string, error) {
	pn, ok := e.fl.Providers[name]
	if !ok {
		return "", fmt.Errorf("provider %q is not declared under providers:", name)
	}
	t, ok := pn.Settings["account_id"]
	if !ok {
		return "", fmt.Errorf("provider %q has no account_id", name)
	}
	v, err := t.Eval(map[string]any{"vars": e.w.vars, "run": e.w.runInfo})
	if err != nil {
		return "", fmt.Errorf("provider %q: %s", name, e.fl.Redact(err.Error()))
	}
	id, _ := v.(string)
	return id, nil
}

// Blobs gives a step the run's blob store (steps.BlobEnv).
func (s *stepEnv) Blobs() *blob.Store { return s.e.Blobs() }

// Bucket opens a bucket resource for a step (steps.BucketEnv).
func (s *stepEnv) Bucket(ctx context.Context, name string) (providers.Bucket, error) {
	return s.e.Bucket(ctx, name)
}
