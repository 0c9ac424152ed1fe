package infra

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/blob"
	"github.com/aiflow/aiflow/engine"
	_ "github.com/aiflow/aiflow/providers/localbucket"
	_ "github.com/aiflow/aiflow/providers/r2"
	"github.com/aiflow/aiflow/providers/r2/r2test"
	_ "github.com/aiflow/aiflow/steps/bucketget"
	_ "github.com/aiflow/aiflow/steps/bucketlist"
	_ "github.com/aiflow/aiflow/steps/bucketput"
)

// bucketFlow stores a binary file and a text in the bucket "media", lists the bucket and
// reads every key back, fanning out over the listing.
const bucketFlow = `aiflow: 1
name: buckets
resources:
  media:
    kind: bucket
BUCKET
steps:
  pic:
    uses: bucket-put
    with:
      bucket: ${ resources.media }
      key: images/logo.png
      value: ${ blob("logo.png") }
      metadata: { prompt: a logo }
  note:
    uses: bucket-put
    with:
      bucket: ${ resources.media }
      key: notes/hello.txt
      value: hello bucket
  ls:
    uses: bucket-list
    needs: [pic, note]
    with:
      bucket: ${ resources.media }
  read:
    uses: bucket-get
    for_each: ${ steps.ls.output.keys }
    with:
      bucket: ${ resources.media }
      key: ${ each.value }
outputs:
  keys: ${ steps.ls.output.keys }
  image: ${ steps.read.output[0].blob }
  meta: ${ steps.read.output[0].metadata }
  text: ${ steps.read.output[1].text }
`

// TestBucketLifecycle: for the local backend and for r2 against a real S3 server, apply
// creates the bucket, a run puts, lists and gets objects (the image comes back as the same
// blob), destroy refuses the bucket while it holds objects, and with force_destroy: true
// applied it empties and deletes it.
func TestBucketLifecycle(t *testing.T) {
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), []byte{0xff, 0xfe, 0xfd, 0x00, 0x01}...)
	tests := []struct {
		name     string
		settings string
		env      func(t *testing.T) map[string]string
		exists   func(t *testing.T, state string, env map[string]string) bool
	}{
		{"local", "    backend: local\n", func(*testing.T) map[string]string { return nil },
			func(t *testing.T, state string, _ map[string]string) bool {
				_, err := os.Stat(filepath.Join(state, "buckets", "media"))
				return err == nil
			}},
		{"r2", "    backend: r2\n    bucket_name: aiflow-media\n    endpoint: ${ env(\"S3_ENDPOINT\") }\n    access_key_id: ${ env(\"R2_ACCESS_KEY_ID\") }\n    secret_access_key: ${ env(\"R2_SECRET_ACCESS_KEY\") }\n",
			func(t *testing.T) map[string]string {
				srv := r2test.Start(t)
				return map[string]string{"S3_ENDPOINT": srv.Endpoint, "R2_ACCESS_KEY_ID": srv.AccessKey, "R2_SECRET_ACCESS_KEY": srv.Secret, "dir": srv.Dir}
			},
			func(t *testing.T, _ string, env map[string]string) bool {
				_, err := os.Stat(filepath.Join(env["dir"], "aiflow-media"))
				return err == nil
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			env := tt.env(t)
			dir := t.TempDir()
			st, state := openState(t, dir)
			if err := os.WriteFile(filepath.Join(dir, "logo.png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
			write := func(settings string) *engine.Flow {
				src := strings.Replace(bucketFlow, "BUCKET\n", settings, 1)
				if err := os.WriteFile(filepath.Join(dir, "flow.yaml"), []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
				return compileFlow(t, filepath.Join(dir, "flow.yaml"), engine.Options{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
			}
			fl := write(tt.settings)
			opts := Options{StateDir: state}
			p, err := Apply(ctx, fl, st, opts, nil)
			if err != nil {
				t.Fatalf("apply: %v", err)
			}
			if got := actions(p)["media"]; got != ActionCreate {
				t.Fatalf("apply: media is %s, want create", got)
			}
			if !tt.exists(t, state, env) {
				t.Fatal("the bucket was not created")
			}
			if p, err := NewPlan(ctx, fl, st, opts); err != nil || p.Changes {
				t.Fatalf("plan after apply: changes %v, err %v", p != nil && p.Changes, err)
			}
			res, err := fl.Run(ctx, engine.RunOptions{Store: st, StateDir: state})
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			keys, _ := res.Outputs["keys"].([]any)
			if len(keys) != 2 || keys[0] != "images/logo.png" || keys[1] != "notes/hello.txt" {
				t.Errorf("keys = %v", res.Outputs["keys"])
			}
			img, ok := blob.FromValue(res.Outputs["image"])
			if want, _ := blob.NewStore("").PutBytes(png, "", ""); !ok || img.SHA256 != want.SHA256 || img.MediaType != "image/png" {
				t.Errorf("image = %v, want the stored PNG %v", res.Outputs["image"], want)
			}
			if m, _ := res.Outputs["meta"].(map[string]any); m["prompt"] != "a logo" {
				t.Errorf("metadata = %v", res.Outputs["meta"])
			}
			if res.Outputs["text"] != "hello bucket" {
				t.Errorf("text = %v", res.Outputs["text"])
			}
			_, err = Destroy(ctx, fl, st, opts, nil)
			if err == nil || !strings.Contains(err.Error(), "is not empty (it holds images/logo.png and 1 more)") || !strings.Contains(err.Error(), "force_destroy: true") {
				t.Fatalf("destroy of a non-empty bucket: %v", err)
			}
			if !tt.exists(t, state, env) {
				t.Fatal("a refused destroy removed the bucket")
			}
			fl = write(tt.settings + "    force_destroy: true\n")
			if p, err := Apply(ctx, fl, st, opts, nil); err != nil || actions(p)["media"] != ActionUpdate {
				t.Fatalf("apply force_destroy: %v, %v", err, p)
			}
			if _, err := Destroy(ctx, fl, st, opts, nil); err != nil {
				t.Fatalf("destroy with force_destroy: %v", err)
			}
			if tt.exists(t, state, env) {
				t.Error("the bucket still exists after destroy")
			}
		})
	}
}

// TestLocalBucketUnreadable: when the local bucket's folder cannot be checked (here a file
// stands where its folder goes), the run fails naming the bucket resource and the cause,
// instead of going on to open it and failing later on a put.
func TestLocalBucketUnreadable(t *testing.T) {
	dir := t.TempDir()
	st, state := openState(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "logo.png"), []byte("\x89PNG\r\n\x1a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(state, "buckets"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, "buckets", "media"), []byte("not a folder"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(bucketFlow, "BUCKET\n", "    backend: local\n", 1)
	if err := os.WriteFile(filepath.Join(dir, "flow.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	fl := compileFlow(t, filepath.Join(dir, "flow.yaml"), engine.Options{})
	_, err := fl.Run(context.Background(), engine.RunOptions{Store: st, StateDir: state})
	if err == nil || !strings.Contains(err.Error(), `resource "media": checking the local bucket`) || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("run with the bucket folder a file: %v", err)
	}
}
