package workersai

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

// fragments is an SSE body of OpenAI-style chunks that spell one tool call's arguments
// in n fragments of size bytes.
func fragments(n, size int) io.Reader {
	var b strings.Builder
	b.WriteString(`data: {"choices":[{"delta":{"tool_calls":[{"index":0,"id":"t","function":{"name":"f","arguments":"{\"a\":\""}}]}}]}` + "\n\n")
	part := strings.Repeat("x", size)
	for range n {
		fmt.Fprintf(&b, `data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"%s"}}]}}]}`+"\n\n", part)
	}
	b.WriteString(`data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"}"}}]}}]}` + "\n\n")
	b.WriteString("data: [DONE]\n\n")
	return strings.NewReader(b.String())
}

// TestToolCallFragmentsLinear checks that joining tool-call fragments costs memory in
// proportion to the arguments, not to their square (each fragment used to re-encode
// everything joined so far).
func TestToolCallFragmentsLinear(t *testing.T) {
	const n, size = 8192, 64 // 512 KiB of arguments
	body := fragments(n, size)
	acc := &streamAcc{}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := readEvents(body, acc.event)
	res := acc.result()
	runtime.ReadMemStats(&after)
	if err != nil || !acc.done {
		t.Fatalf("readEvents = %v, done %v", err, acc.done)
	}
	if len(res.ToolCalls) != 1 || len(unquoted(res.ToolCalls[0].Function.Arguments)) != n*size+len(`{"a":""}`) {
		t.Fatalf("tool calls %d, want one with %d bytes of arguments", len(res.ToolCalls), n*size+8)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 256<<20 {
		t.Errorf("joining %d KiB of arguments allocated %d MiB, want it linear (under 256 MiB)", n*size>>10, alloc>>20)
	}
}
