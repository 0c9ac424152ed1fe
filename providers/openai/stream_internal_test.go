package openai

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	oai "github.com/openai/openai-go/v3"
)

// TestToolCallFragmentsLinear checks that joining tool-call fragments costs memory in
// proportion to the arguments, not to their square (each fragment used to copy
// everything joined so far).
func TestToolCallFragmentsLinear(t *testing.T) {
	const n, size = 16384, 64 // 1 MiB of arguments
	var first, frag oai.ChatCompletionChunk
	if err := json.Unmarshal([]byte(`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t","function":{"name":"f","arguments":""}}]}}]}`), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"`+strings.Repeat("x", size)+`"}}]}}]}`), &frag); err != nil {
		t.Fatal(err)
	}
	acc := streamAcc{calls: map[int64]*rawCall{}}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	acc.add(first, nil)
	for range n {
		acc.add(frag, nil)
	}
	g := acc.generated()
	runtime.ReadMemStats(&after)
	if len(g.calls) != 1 || len(g.calls[0].args) != n*size {
		t.Fatalf("calls %d, want one with %d bytes of arguments", len(g.calls), n*size)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("joining %d KiB of arguments allocated %d MiB, want it linear (under 64 MiB)", n*size>>10, alloc>>20)
	}
}
