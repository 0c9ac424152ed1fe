package engine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/blob"
	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers/wiretest"
)

const fluxModel = "@cf/black-forest-labs/flux-1-schnell"

// readBlob reads a blob back from the state directory, hash checked.
func readBlob(t *testing.T, state string, v any) []byte {
	t.Helper()
	b, ok := blob.FromValue(v)
	if !ok {
		t.Fatalf("%v is not a blob", v)
	}
	r, err := blob.NewStore(engine.BlobDir(state)).Open(b)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("blob %s: %v", b.SHA256, err)
	}
	return data
}

// TestImageToBucketExample runs examples/flows/image-to-bucket.yaml against the emulator:
// FLUX.1 schnell's base64 answers become PNG blobs, stored in the local bucket under one
// key per subject; usage is priced per tile and step; a second run takes every image
// from the cache and pays for none.
func TestImageToBucketExample(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	fl := fileFlow(t, "../examples/flows/image-to-bucket.yaml", cfEnv(cf))
	dir := t.TempDir()
	vars := map[string]any{"cf_api": cf.APIBase()}
	res := e2eRun(t, fl, dir, engine.RunOptions{Vars: vars})
	images, _ := res.Outputs["images"].([]any)
	if len(images) != 2 {
		t.Fatalf("images = %v", res.Outputs["images"])
	}
	for _, img := range images {
		if _, err := png.DecodeConfig(bytes.NewReader(readBlob(t, dir, img))); err != nil {
			t.Errorf("image is not a PNG: %v", err)
		}
	}
	keys, _ := res.Outputs["keys"].([]any)
	if len(keys) != 2 || keys[0] != "images/fox-in-the-snow.png" || keys[1] != "images/lighthouse-at-dawn.png" {
		t.Errorf("keys = %v", res.Outputs["keys"])
	}
	for _, in := range sentInputs(t, cf, fluxModel) {
		if len(in) != 2 || in["steps"] != 4.0 || !strings.HasSuffix(in["prompt"].(string), ", watercolour, soft light") {
			t.Errorf("request = %v, want {prompt, steps} only", in)
		}
	}
	// 1024x1024 = 4 tiles × 4.80 + 4 steps × 9.60 per image.
	if got, want := res.Steps[0].Usage.Neurons, 2*(4*4.80+4*9.60); got < want-1e-6 || got > want+1e-6 {
		t.Errorf("draw usage = %v neurons, want %v", got, want)
	}
	again := e2eRun(t, fl, dir, engine.RunOptions{Vars: vars})
	if n := cf.Images(); n != 2 {
		t.Errorf("%d images paid for after a cached second run, want 2", n)
	}
	if again.Steps[0].Status != engine.StatusCached {
		t.Errorf("second run: draw is %s", again.Steps[0].Status)
	}
}

// TestImageFanOutResume: when one image of a fan-out fails after the other was paid for,
// --resume generates only the missing one, and every stored image is intact.
func TestImageFanOutResume(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	cf.SetResponder(func(run wiretest.CFRun) (any, bool) {
		if p, _ := run.Input["prompt"].(string); strings.HasPrefix(p, "fox") {
			return map[string]any{"image": "%%% not base64"}, true
		}
		return nil, false
	})
	fl := fileFlow(t, "../examples/flows/image-to-bucket.yaml", cfEnv(cf))
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	opts := engine.RunOptions{Vars: map[string]any{"cf_api": cf.APIBase()}, Store: st, StateDir: dir}
	first, err := fl.Run(context.Background(), opts)
	var re *engine.RunError
	if !errors.As(err, &re) {
		t.Fatalf("first run: %v, want the fox image to fail", err)
	}
	cf.SetResponder(nil)
	opts.Resume = first.RunID
	res, err := fl.Run(context.Background(), opts)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	lighthouse := 0
	for _, in := range sentInputs(t, cf, fluxModel) {
		if strings.HasPrefix(in["prompt"].(string), "lighthouse") {
			lighthouse++
		}
	}
	if lighthouse != 1 || cf.Images() != 3 {
		t.Errorf("lighthouse drawn %d times, %d images in all; want 1 and 3 (fox twice: failed answer, then resume)", lighthouse, cf.Images())
	}
	for _, img := range res.Outputs["images"].([]any) {
		readBlob(t, dir, img) // hash checked
	}
}

// TestPlanPricesImages: plan prices generate-image per 512x512 tile and per step from the
// catalogue (flux-1-schnell, 1024x1024 by default: 4 tiles × 4.80 + steps × 9.60 neurons).
func TestPlanPricesImages(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	fl := fileFlow(t, "../examples/flows/image-to-bucket.yaml", cfEnv(cf))
	for _, steps := range []int{4, 8} {
		p, err := fl.Plan(context.Background(), engine.PlanOptions{Vars: map[string]any{"cf_api": cf.APIBase(), "steps": steps}})
		if err != nil {
			t.Fatal(err)
		}
		want := 2 * (4*4.80 + float64(steps)*9.60) * 0.011 / 1000
		if got := p.Total.USD; !p.Total.Priced || got < want*0.999 || got > want*1.001 {
			t.Errorf("steps %d: plan total = $%v (priced %v), want $%v", steps, got, p.Total.Priced, want)
		}
	}
	if cf.Count() != 0 {
		t.Errorf("plan made %d requests", cf.Count())
	}
}

// classifyFlow labels a file read with blob(); %s is the file.
const classifyFlow = `aiflow: 1
name: labels
vars:
  cf_api: { type: string }
providers:
  cf:
    kind: workers-ai
    account_id: ${ env("CLOUDFLARE_ACCOUNT_ID") }
    api_token: ${ env("CLOUDFLARE_API_TOKEN") }
    base_url: ${ vars.cf_api }
steps:
  tag:
    uses: classify-image
    model: cf:@cf/microsoft/resnet-50
    with:
      image: ${ blob("%s") }
      top_k: 2
outputs:
  label: ${ steps.tag.output.label }
  scores: ${ steps.tag.output.scores }
`

// TestClassifyImage: resnet-50 gets the image as the published array of 0–255 numbers
// and its labels come back best first, cut to top_k; an audio blob is refused before any
// request, naming its media type.
func TestClassifyImage(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	dir := t.TempDir()
	img := wiretest.CFImage("x", "a cat", 8, 8)
	wav := append([]byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00"), make([]byte, 64)...)
	for name, data := range map[string][]byte{"cat.png": img, "talk.wav": wav} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(file string) (*engine.RunResult, error) {
		path := filepath.Join(dir, strings.TrimSuffix(file, filepath.Ext(file))+".yaml")
		if err := os.WriteFile(path, []byte(fmt.Sprintf(classifyFlow, file)), 0o644); err != nil {
			t.Fatal(err)
		}
		fl := fileFlow(t, path, cfEnv(cf))
		st, err := store.Open(filepath.Join(dir, ".aiflow"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		return fl.Run(context.Background(), engine.RunOptions{Vars: map[string]any{"cf_api": cf.APIBase()}, Store: st, StateDir: filepath.Join(dir, ".aiflow")})
	}
	res, err := run("cat.png")
	if err != nil {
		t.Fatal(err)
	}
	scores, _ := res.Outputs["scores"].([]any)
	if len(scores) != 2 || res.Outputs["label"] == "" {
		t.Errorf("outputs = %v", res.Outputs)
	}
	sent := sentInputs(t, cf, "@cf/microsoft/resnet-50")
	if len(sent) != 1 || len(sent[0]["image"].([]any)) != len(img) {
		t.Fatalf("requests = %d, want one carrying the %d image bytes", len(sent), len(img))
	}
	if _, err := run("talk.wav"); err == nil || !strings.Contains(err.Error(), "image: expected an image, got audio/wav") {
		t.Errorf("audio blob: %v", err)
	}
	if n := cf.Count(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// TestOpenAIImageE2E: a generate-image step on the openai provider draws through POST
// /v1/images/generations, stores the PNG as a blob and is priced per image from the
// catalogue (dall-e-3 at 1024x1024: $0.040).
func TestOpenAIImageE2E(t *testing.T) {
	o := wiretest.NewOpenAI(t)
	src := fmt.Sprintf(`aiflow: 1
name: oai-image
providers:
  oai:
    kind: openai
    api_key: ${ env("TOKEN") }
    base_url: %s
steps:
  draw:
    uses: generate-image
    model: oai:dall-e-3
    with:
      prompt: a red fox
      width: 1024
      height: 1024
outputs:
  image: ${ steps.draw.output.image }
`, o.URL())
	fl := e2eFlow(t, src, map[string]string{"TOKEN": o.Key()})
	dir := t.TempDir()
	res := e2eRun(t, fl, dir, engine.RunOptions{})
	if got := readBlob(t, dir, res.Outputs["image"]); !bytes.Equal(got, wiretest.OpenAIImagePNG("a red fox")) {
		t.Errorf("image = %d bytes, want the emulator's PNG", len(got))
	}
	if got := res.Steps[0].Usage.USD; got < 0.04-1e-9 || got > 0.04+1e-9 {
		t.Errorf("usd = %v, want 0.040", got)
	}
}
