package generate

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/blob"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/steptest"
)

// blobEnv is a test Env with a blob store.
type blobEnv struct {
	steptest.Env
	store *blob.Store
}

func (e *blobEnv) Blobs() *blob.Store { return e.store }

func TestRunAttachesImagesToLastUserTurn(t *testing.T) {
	env := &blobEnv{store: blob.NewStore(t.TempDir())}
	png, err := env.store.PutBytes([]byte("\x89PNG\r\n\x1a\nfake"), "cat.png", "image/png")
	if err != nil {
		t.Fatal(err)
	}
	var got []providers.Message
	gen := &steptest.Generator{Fn: func(_ context.Context, req providers.GenerateRequest) (providers.GenerateResponse, error) {
		got = req.Messages
		return providers.GenerateResponse{Text: "a cat", FinishReason: "stop"}, nil
	}}
	call := newCall(steptest.Model(gen, "llama"), &env.Env, &steps.Prompt{System: "Be brief.", User: "What is it?"})
	call.Env = env
	call.Inputs["images"] = []any{png.Value()}
	if _, err := (&generator{}).Run(context.Background(), call); err != nil {
		t.Fatal(err)
	}
	want := []providers.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "What is it?",
		Images: []providers.Image{{MediaType: "image/png", Data: []byte("\x89PNG\r\n\x1a\nfake")}}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("messages (-want +got):\n%s", d)
	}
}

func TestRunRefusesBadImages(t *testing.T) {
	big := blob.Blob{SHA256: strings.Repeat("a", 64), Size: MaxImage + 1, MediaType: "image/png"}
	wav := blob.Blob{SHA256: strings.Repeat("b", 64), Size: 10, MediaType: "audio/wav"}
	for _, tc := range []struct {
		name   string
		images []any
		want   string
	}{
		{"not a blob", []any{"cat.png"}, `images[0]: expected an image blob such as ${ blob("cat.png") }, got string`},
		{"over 10 MiB", []any{big.Value(), wav.Value()}, "images[0]: the blob has"},
		{"audio", []any{wav.Value()}, "images[0]: expected an image, got audio/wav"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gen := answers(providers.GenerateResponse{Text: "x"})
			env := &steptest.Env{}
			call := newCall(steptest.Model(gen, "llama"), env, &steps.Prompt{User: "What is it?"})
			call.Inputs["images"] = tc.images
			_, err := (&generator{}).Run(context.Background(), call)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
			if len(gen.Requests()) != 0 {
				t.Errorf("%d provider calls, want none", len(gen.Requests()))
			}
		})
	}
}

func TestCheckModelImages(t *testing.T) {
	g := &generator{images: &spec.Value{Pos: spec.Pos{File: "f.yaml", Line: 9, Col: 15}, Path: "steps.g.with.images"}}
	for _, tc := range []struct{ kind, model, want string }{
		{"workers-ai", "@cf/meta/llama-3.2-11b-vision-instruct", ""},
		{"workers-ai", "@cf/meta/llama-3.1-8b-instruct", "images: model @cf/meta/llama-3.1-8b-instruct does not take images"},
		{"workers-ai", "@cf/someone/new-model", ""},
		{"workers-ai", "@cf/llava-hf/llava-1.5-7b-hf", ""},
		{"workers-ai", "@cf/unum/uform-gen2-qwen-500m", ""},
		{"openai", "gpt-4o-mini", ""},
		{"anthropic", "claude-haiku-4-5", ""},
		{"local", "", "images: provider kind local does not take images"},
	} {
		d := g.CheckModel(tc.kind, tc.model)
		got := ""
		if len(d) > 0 {
			got = d[0].Summary
			if d[0].Pos.Line != 9 || d[0].Path != "steps.g.with.images" {
				t.Errorf("%s %s: diagnostic at %v %s", tc.kind, tc.model, d[0].Pos, d[0].Path)
			}
		}
		if !strings.HasPrefix(got, tc.want) || (tc.want == "") != (got == "") {
			t.Errorf("%s %s: %q, want %q", tc.kind, tc.model, got, tc.want)
		}
	}
	if d := (&generator{}).CheckModel("local", ""); d != nil {
		t.Errorf("a step without images: %v", d)
	}
}
