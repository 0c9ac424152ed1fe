package wiretest

import (
	"embed"
	"testing"
)

//go:embed testdata/openai_*
var openAIRecordings embed.FS

// OpenAIRecording returns testdata/openai_<name>: a recorded OpenAI response body to
// replay with Fault{Body: …}. It fails t when there is no such recording.
func OpenAIRecording(t testing.TB, name string) string {
	t.Helper()
	b, err := openAIRecordings.ReadFile("testdata/openai_" + name)
	if err != nil {
		t.Fatalf("wiretest: %v", err)
	}
	return string(b)
}
