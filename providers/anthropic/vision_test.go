package anthropic_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// Images go as base64 image blocks after the text block.
func TestGenerateVisionImages(t *testing.T) {
	seen := func(p wiretest.ChatPrompt) wiretest.ChatTurn {
		last := p.Messages[len(p.Messages)-1]
		return wiretest.ChatTurn{Text: last.Content + " | " + strings.Join(last.Images, ","), FinishReason: "stop"}
	}
	emu := wiretest.NewAnthropic(t, wiretest.WithAnthropicScript(seen))
	p := newProvider(t, emu, nil)
	req := providers.GenerateRequest{Model: "claude-haiku-4-5", Messages: []providers.Message{{Role: "user", Content: "Compare",
		Images: []providers.Image{{MediaType: "image/png", Data: []byte{1, 2}}, {MediaType: "image/jpeg", Data: []byte{3}}}}}}
	resp, err := p.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text != "Compare | image/png,image/jpeg" {
		t.Errorf("the emulator saw %q, want the text and both images", resp.Text)
	}
	want := []any{map[string]any{"role": "user", "content": []any{
		map[string]any{"type": "text", "text": "Compare"},
		map[string]any{"type": "image", "source": map[string]any{"type": "base64", "media_type": "image/png", "data": "AQI="}},
		map[string]any{"type": "image", "source": map[string]any{"type": "base64", "media_type": "image/jpeg", "data": "Aw=="}},
	}}}
	if d := cmp.Diff(want, lastBody(t, &emu.Recorder)["messages"]); d != "" {
		t.Errorf("messages (-want +got):\n%s", d)
	}
}
