package wiretest

import (
	"embed"
	"testing"
)

//go:embed testdata/anthropic_*
var anthropicRecordings embed.FS

// AnthropicRecording returns testdata/anthropic_<name>: a recorded Anthropic response
// body to replay with Fault{Body: …}. It fails t when there is no such recording.
func AnthropicRecording(t testing.TB, name string) string {
	t.Helper()
	b, err := anthropicRecordings.ReadFile("testdata/anthropic_" + name)
	if err != nil {
		t.Fatalf("wiretest: %v", err)
	}
	return string(b)
}
