package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers/wiretest"
	"github.com/aiflow/aiflow/spec"
)

// visionFlow asks a generate step about a file read with blob(); the verbs fill the
// model and the images list.
const visionFlow = `aiflow: 1
name: look
vars:
  cf_api: { type: string }
providers:
  cf:
    kind: workers-ai
    account_id: ${ env("CLOUDFLARE_ACCOUNT_ID") }
    api_token: ${ env("CLOUDFLARE_API_TOKEN") }
    base_url: ${ vars.cf_api }
steps:
  look:
    uses: generate
    model: cf:%s
    prompt: { user: "What is in the picture?" }
    with:
      images: %s
outputs:
  text: ${ steps.look.output.text }
`

func writeVisionFiles(t *testing.T, model, images string) string {
	t.Helper()
	dir := t.TempDir()
	wav, _, _ := talkTones()
	files := map[string][]byte{"look.yaml": []byte(fmt.Sprintf(visionFlow, model, images)),
		"cat.png": wiretest.CFImage("x", "a cat", 8, 8), "talk.wav": wav}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestGenerateVisionSendsImage: with.images reaches llama-3.2-11b-vision-instruct as the
// published schema's top-level image (the file's bytes) next to string messages.
func TestGenerateVisionSendsImage(t *testing.T) {
	const model = "@cf/meta/llama-3.2-11b-vision-instruct"
	cf := wiretest.NewCloudflare(t)
	dir := writeVisionFiles(t, model, `[ '${ blob("cat.png") }' ]`)
	fl := fileFlow(t, filepath.Join(dir, "look.yaml"), cfEnv(cf))
	res := e2eRun(t, fl, dir, engine.RunOptions{Vars: map[string]any{"cf_api": cf.APIBase()}})
	if res.Outputs["text"] != "echo: What is in the picture?" {
		t.Errorf("text = %v", res.Outputs["text"])
	}
	sent := sentInputs(t, cf, model)
	if len(sent) != 1 {
		t.Fatalf("%d requests, want 1", len(sent))
	}
	var got []byte
	for _, x := range sent[0]["image"].([]any) {
		got = append(got, byte(x.(float64)))
	}
	png, _ := os.ReadFile(filepath.Join(dir, "cat.png"))
	if string(got) != string(png) {
		t.Errorf("sent image of %d bytes, want the file's %d", len(got), len(png))
	}
}

// TestGenerateVisionRefuses: images on a model without vision fail validate at the
// images line; a blob that is not an image fails before any request, naming the field.
func TestGenerateVisionRefuses(t *testing.T) {
	t.Run("model without images", func(t *testing.T) {
		dir := writeVisionFiles(t, "@cf/meta/llama-3.1-8b-instruct", `[ '${ blob("cat.png") }' ]`)
		f, diags := spec.ParseFile(filepath.Join(dir, "look.yaml"))
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		_, diags = engine.Compile(f, engine.Options{LookupEnv: func(string) (string, bool) { return "x", true }})
		want := "images: model @cf/meta/llama-3.1-8b-instruct does not take images"
		var hit *spec.Diagnostic
		for i := range diags {
			if strings.Contains(diags[i].Summary, want) {
				hit = &diags[i]
			}
		}
		if hit == nil {
			t.Fatalf("diagnostics %v, want %q", diags, want)
		}
		if hit.Pos.Line != 17 || hit.Path != "steps.look.with.images" {
			t.Errorf("diagnostic at line %d path %s, want line 17 steps.look.with.images", hit.Pos.Line, hit.Path)
		}
	})
	t.Run("audio blob", func(t *testing.T) {
		cf := wiretest.NewCloudflare(t)
		dir := writeVisionFiles(t, "@cf/meta/llama-3.2-11b-vision-instruct", `[ '${ blob("talk.wav") }' ]`)
		fl := fileFlow(t, filepath.Join(dir, "look.yaml"), cfEnv(cf))
		st, err := store.Open(filepath.Join(dir, ".aiflow"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		_, err = fl.Run(context.Background(), engine.RunOptions{Vars: map[string]any{"cf_api": cf.APIBase()}, Store: st, StateDir: filepath.Join(dir, ".aiflow")})
		want := `step "look": images[0]: expected an image, got audio/wav`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error = %v, want %q", err, want)
		}
		if n := cf.Count(); n != 0 {
			t.Errorf("%d requests made", n)
		}
	})
}

// TestGenerateVisionCacheKeyHashesImage: a cached vision call is reused for the same
// image and asked again when the file's bytes change (the key holds the blob's hash).
func TestGenerateVisionCacheKeyHashesImage(t *testing.T) {
	const model = "@cf/meta/llama-3.2-11b-vision-instruct"
	cf := wiretest.NewCloudflare(t)
	dir := writeVisionFiles(t, model, `[ '${ blob("cat.png") }' ]`)
	path := filepath.Join(dir, "look.yaml")
	src, _ := os.ReadFile(path)
	src = []byte(strings.Replace(string(src), "    with:\n", "    cache: on\n    params: { temperature: 0 }\n    with:\n", 1))
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func() {
		fl := fileFlow(t, path, cfEnv(cf))
		e2eRun(t, fl, dir, engine.RunOptions{Vars: map[string]any{"cf_api": cf.APIBase()}})
	}
	run()
	run()
	if n := len(sentInputs(t, cf, model)); n != 1 {
		t.Fatalf("%d requests for the same image twice, want 1 (cached)", n)
	}
	if err := os.WriteFile(filepath.Join(dir, "cat.png"), wiretest.CFImage("y", "a dog", 8, 8), 0o644); err != nil {
		t.Fatal(err)
	}
	run()
	if n := len(sentInputs(t, cf, model)); n != 2 {
		t.Fatalf("%d requests after the image changed, want 2", n)
	}
}

// TestGenerateVisionRefusesAsyncBatch: batch files carry text turns only, so images with
// an asynchronous batch fail validate at the images line.
func TestGenerateVisionRefusesAsyncBatch(t *testing.T) {
	src := `aiflow: 1
providers:
  cf: { kind: workers-ai, account_id: x, api_token: y }
steps:
  g:
    uses: generate
    model: cf:@cf/meta/llama-3.2-11b-vision-instruct
    for_each: ${ ["a", "b"] }
    batch: { size: 2, async: true }
    prompt: { user: "${ each.value }" }
    with: { images: [] }
`
	f, diags := spec.Parse("v.yaml", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	_, diags = engine.Compile(f, engine.Options{})
	for _, d := range diags {
		if strings.Contains(d.Summary, "images cannot go through an asynchronous batch") {
			if d.Pos.Line != 11 {
				t.Errorf("at line %d, want 11", d.Pos.Line)
			}
			return
		}
	}
	t.Fatalf("diagnostics %v, want images refused with an async batch", diags)
}

// TestGenerateImageToText: a generate step with one image runs the image-to-text models
// (task image-to-text in the catalogue) in their published shape, {image, prompt} →
// {description}, and the description is the step's text; without with.images validate
// refuses them as the wrong task.
func TestGenerateImageToText(t *testing.T) {
	for _, model := range []string{"@cf/llava-hf/llava-1.5-7b-hf", "@cf/unum/uform-gen2-qwen-500m"} {
		t.Run(model, func(t *testing.T) {
			cf := wiretest.NewCloudflare(t)
			dir := writeVisionFiles(t, model, `[ '${ blob("cat.png") }' ]`)
			fl := fileFlow(t, filepath.Join(dir, "look.yaml"), cfEnv(cf))
			res := e2eRun(t, fl, dir, engine.RunOptions{Vars: map[string]any{"cf_api": cf.APIBase()}})
			png, _ := os.ReadFile(filepath.Join(dir, "cat.png"))
			if want := wiretest.CFImageDescription(png, "What is in the picture?"); res.Outputs["text"] != want {
				t.Errorf("text = %v, want %q", res.Outputs["text"], want)
			}
			sent := sentInputs(t, cf, model)
			if len(sent) != 1 || sent[0]["prompt"] != "What is in the picture?" || sent[0]["messages"] != nil {
				t.Fatalf("sent %v, want one {image, prompt} request", sent)
			}
		})
	}
	t.Run("without images", func(t *testing.T) {
		src := strings.Replace(fmt.Sprintf(visionFlow, "@cf/llava-hf/llava-1.5-7b-hf", "[]"), "    with:\n      images: []\n", "", 1)
		f, diags := spec.Parse("look.yaml", []byte(src))
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		_, diags = engine.Compile(f, engine.Options{LookupEnv: func(string) (string, bool) { return "x", true }})
		if want := `model "@cf/llava-hf/llava-1.5-7b-hf" is a image-to-text model`; !strings.Contains(fmt.Sprint(diags), want) {
			t.Fatalf("diagnostics %v, want %q", diags, want)
		}
	})
}
