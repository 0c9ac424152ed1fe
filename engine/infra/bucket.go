package infra

import (
	"context"
	"fmt"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
)

// bucketKind manages bucket resources: `backend: local` (a folder under the state
// directory, the default) or `backend: r2` (Cloudflare R2; `bucket_name:` is the bucket's name,
// default the resource's; access_key_id and secret_access_key come from env() and are
// never recorded). Destroy refuses a bucket that still holds objects unless the resource
// says `force_destroy: true`, which then deletes them first.
type bucketKind struct{}

func (bucketKind) desired(_ *env, r *resource) error {
	r.backend = str(r.settings["backend"])
	if r.backend == "" {
		r.backend = "local"
	}
	if _, ok := providers.LookupBucketBackend(r.backend); !ok {
		return fmt.Errorf("bucket backend %q is not available (known: local, r2)", r.backend)
	}
	force, err := boolSetting(r.settings, "force_destroy")
	if err != nil {
		return err
	}
	r.attrs = map[string]any{"backend": r.backend, "bucket": bucketName(r.name, r.settings), "force_destroy": force}
	for _, k := range []string{"provider", "endpoint"} {
		if v := str(r.settings[k]); v != "" {
			r.attrs[k] = v
		}
	}
	r.force = []string{"backend", "bucket", "provider", "endpoint"}
	return nil
}

// bucketName is the name of the bucket itself: bucket_name:, else the resource's name.
func bucketName(resource string, s map[string]any) string {
	if n := str(s["bucket_name"]); n != "" {
		return n
	}
	return resource
}

func boolSetting(s map[string]any, key string) (bool, error) {
	switch v := s[key].(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	}
	return false, fmt.Errorf("%s: want true or false, got %v", key, s[key])
}

// bucketBackend starts the backend for a bucket with the given settings.
func (e *env) bucketBackend(backend string, settings map[string]any) (providers.BucketBackend, error) {
	info, ok := providers.LookupBucketBackend(backend)
	if !ok {
		return nil, fmt.Errorf("bucket backend %q is not available (known: local, r2)", backend)
	}
	cfg := providers.BucketConfig{StateDir: e.opts.StateDir, Settings: settings, HTTPClient: e.opts.HTTPClient, Retry: e.opts.Retry}
	if p := str(settings["provider"]); p != "" && backend != "local" {
		a, err := e.account(p)
		if err != nil {
			return nil, err
		}
		cfg.Account = a
	}
	return info.New(cfg)
}

func (bucketKind) refresh(ctx context.Context, e *env, r *resource, _ *store.ResourceState) (realState, error) {
	b, err := e.bucketBackend(r.backend, r.settings)
	if err != nil {
		return realState{}, err
	}
	name := str(r.attrs["bucket"])
	ok, err := b.Exists(ctx, name)
	if err != nil || !ok {
		return realState{}, err
	}
	return realState{exists: true, id: name, attrs: map[string]any{}}, nil
}

func (bucketKind) apply(ctx context.Context, e *env, c *Change) (string, error) {
	r := c.res
	name := str(r.attrs["bucket"])
	if c.real.exists && c.Action != ActionReplace {
		return name, nil // force_destroy is aiflow's own setting: recording it is the update
	}
	b, err := e.bucketBackend(r.backend, r.settings)
	if err != nil {
		return "", err
	}
	return name, b.Create(ctx, name)
}

// destroy empties the bucket first when force_destroy was recorded, and otherwise
// refuses one that holds objects, naming a few keys. An r2 bucket needs its credentials,
// so the resource must still be declared (with its env() settings) to be destroyed.
func (bucketKind) destroy(ctx context.Context, e *env, st store.ResourceState) error {
	settings := map[string]any{}
	if rn, ok := e.fl.Resources[st.Name]; ok && rn.Spec.Kind == "bucket" {
		s, err := e.settings(rn)
		if err != nil {
			return err
		}
		settings = s
	} else if st.Backend != "local" {
		return fmt.Errorf("bucket %s: declare it again (with its credentials) to destroy it: %s buckets need access keys that aiflow does not record", st.Name, st.Backend)
	}
	for _, k := range []string{"provider", "endpoint"} {
		if v, ok := st.Attributes[k]; ok && settings[k] == nil {
			settings[k] = v
		}
	}
	name, _ := st.Attributes["bucket"].(string)
	if name == "" {
		name = st.ID
	}
	b, err := e.bucketBackend(st.Backend, settings)
	if err != nil {
		return err
	}
	if ok, err := b.Exists(ctx, name); err != nil || !ok {
		return err
	}
	objs, err := b.Open(name)
	if err != nil {
		return err
	}
	force, _ := st.Attributes["force_destroy"].(bool)
	if err := emptyBucket(ctx, objs, name, force); err != nil {
		return err
	}
	return b.Delete(ctx, name)
}

// emptyBucket deletes every object when force is set, and otherwise fails if there is one.
func emptyBucket(ctx context.Context, b providers.Bucket, name string, force bool) error {
	for {
		objs, err := b.List(ctx, "", 1000)
		if err != nil {
			return err
		}
		if len(objs) == 0 {
			return nil
		}
		if !force {
			return fmt.Errorf("bucket %s is not empty (it holds %s%s); delete its objects, or set force_destroy: true on the resource and apply, then destroy", name, objs[0].Key, more(len(objs)))
		}
		for _, o := range objs {
			if err := b.Delete(ctx, o.Key); err != nil {
				return err
			}
		}
	}
}

func more(n int) string {
	if n <= 1 {
		return ""
	}
	return fmt.Sprintf(" and %d more", n-1)
}
