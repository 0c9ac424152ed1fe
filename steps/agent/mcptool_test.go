package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps/internal/steptest"
)

// The test binary doubles as a stdio MCP server when this variable is 1.
const mcpServerEnv = "AIFLOW_AGENT_TEST_MCP_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(mcpServerEnv) == "1" {
		if os.Getenv("AIFLOW_AGENT_TEST_MCP_MUTE") == "1" { // reads requests, never answers
			io.Copy(io.Discard, os.Stdin)
			os.Exit(0)
		}
		if err := serveMCP(); err != nil {
			fmt.Fprintln(os.Stderr, "test mcp server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serveMCP serves add, shout and fail over stdio. With AIFLOW_AGENT_TEST_MCP_PIDFILE it
// first writes its pid there.
func serveMCP() error {
	if f := os.Getenv("AIFLOW_AGENT_TEST_MCP_PIDFILE"); f != "" {
		if err := os.WriteFile(f, []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
			return err
		}
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "test-tools", Version: "1"}, nil)
	s.AddTool(&mcp.Tool{Name: "add", Description: "Add two numbers.",
		InputSchema: json.RawMessage(`{"type":"object","required":["a","b"],"properties":{"a":{"type":"number","description":"First"},"b":{"type":"number","description":"Second"}}}`)},
		func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			var in struct{ A, B float64 }
			if err := json.Unmarshal(req.Params.Arguments, &in); err != nil {
				return nil, err
			}
			return textResult(strconv.FormatFloat(in.A+in.B, 'f', -1, 64), false), nil
		})
	s.AddTool(&mcp.Tool{Name: "shout", Description: "Upper-case a text.",
		InputSchema: json.RawMessage(`{"type":"object","required":["text"],"properties":{"text":{"type":"string","description":"Text"}}}`)},
		func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			var in struct{ Text string }
			if err := json.Unmarshal(req.Params.Arguments, &in); err != nil {
				return nil, err
			}
			return textResult(strings.ToUpper(in.Text), false), nil
		})
	s.AddTool(&mcp.Tool{Name: "hang", Description: "Never answers.", InputSchema: json.RawMessage(`{"type":"object"}`)},
		func(ctx context.Context, _ *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		})
	s.AddTool(&mcp.Tool{Name: "fail", Description: "Always fails.", InputSchema: json.RawMessage(`{"type":"object"}`)},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return textResult("it broke", true), nil
		})
	return s.Run(context.Background(), &mcp.StdioTransport{})
}

func textResult(s string, isErr bool) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: s}}, IsError: isErr}
}

// mcpTools declares the test binary as an MCP server.
func mcpTools(t *testing.T, extra string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("- mcp:\n    command: [%q, -test.run=^$]\n    env: {%s: \"1\"%s}\n", exe, mcpServerEnv, extra)
}

func TestMCPTools(t *testing.T) {
	pidFile := t.TempDir() + "/pid"
	a := build(t, mcpTools(t, fmt.Sprintf(", AIFLOW_AGENT_TEST_MCP_PIDFILE: %q", pidFile)))
	gen := scripted(func(n int, req providers.GenerateRequest) providers.GenerateResponse {
		switch n {
		case 0:
			return providers.GenerateResponse{ToolCalls: []providers.ToolCall{call("add", `{"a":2,"b":3.5}`), call("shout", `{"text":"hi"}`), call("add", `{"a":"two"}`)}}
		case 1:
			return providers.GenerateResponse{ToolCalls: []providers.ToolCall{call("fail", `{}`)}}
		}
		return providers.GenerateResponse{Text: "5.5 HI"}
	})
	env := &steptest.Env{}
	res, err := a.Run(context.Background(), agentCall(gen, env, nil))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range gen.Requests()[0].Tools {
		names = append(names, tool.Name)
	}
	if d := cmp.Diff([]string{"add", "fail", "hang", "shout"}, names); d != "" { // the server lists them by name
		t.Errorf("tools offered (-want +got):\n%s", d)
	}
	if req := gen.Requests()[0].Tools[0].Parameters["required"]; fmt.Sprint(req) != "[a b]" {
		t.Errorf("add's schema from the server: required = %v", req)
	}
	var results []string
	for _, r := range gen.Requests()[1:] {
		for _, m := range r.Messages[len(r.Messages)-len(lastCalls(r.Messages)):] {
			results = append(results, fmt.Sprintf("%v %s", m.IsError, m.Content))
		}
	}
	want := []string{"false 5.5", "false HI", "true the arguments do not match the tool's parameters schema: ", "true it broke"}
	for i := range results {
		if i < len(want) && strings.HasPrefix(results[i], want[i]) {
			results[i] = want[i]
		}
	}
	if d := cmp.Diff(want, results); d != "" {
		t.Errorf("tool results (-want +got):\n%s", d)
	}
	if res.Output["text"] != "5.5 HI" {
		t.Errorf("text = %v", res.Output["text"])
	}
	checkStopped(t, pidFile)
}

// lastCalls returns the tool turns at the end of msgs.
func lastCalls(msgs []providers.Message) []providers.Message {
	i := len(msgs)
	for i > 0 && msgs[i-1].Role == "tool" {
		i--
	}
	return msgs[i:]
}

// checkStopped fails when the server whose pid is in pidFile still runs.
func checkStopped(t *testing.T, pidFile string) {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the server did not start: %v", err)
	}
	if runtime.GOOS == "windows" {
		return
	}
	pid, _ := strconv.Atoi(string(b))
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("mcp server %d still runs after the step", pid)
	}
}

func TestMCPInclude(t *testing.T) {
	tests := []struct {
		name      string
		include   string
		wantTools []string
		wantErr   string
	}{
		{"subset", "[shout]", []string{"shout"}, ""},
		{"missing tool", "[shout, whisper]", nil, "offers no tool whisper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(mcpTools(t, ""), "    env:", "    include: "+tt.include+"\n    env:", 1)
			gen := scripted(func(int, providers.GenerateRequest) providers.GenerateResponse {
				return providers.GenerateResponse{Text: "ok"}
			})
			_, err := build(t, src).Run(context.Background(), agentCall(gen, &steptest.Env{}, nil))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, tool := range gen.Requests()[0].Tools {
				names = append(names, tool.Name)
			}
			if d := cmp.Diff(tt.wantTools, names); d != "" {
				t.Errorf("tools offered (-want +got):\n%s", d)
			}
		})
	}
}

func TestMCPStartFails(t *testing.T) {
	a := build(t, "- mcp: {command: [./no-such-mcp-server]}\n")
	_, err := a.Run(context.Background(), agentCall(scripted(nil), &steptest.Env{}, nil))
	if err == nil || !strings.HasPrefix(err.Error(), "starting mcp server ./no-such-mcp-server: ") {
		t.Fatalf("error = %v", err)
	}
}

func TestDiscoverPlanNotes(t *testing.T) {
	a := build(t, search+mcpTools(t, ""))
	got, err := a.DiscoverPlanNotes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	backing := "mcp " + exe + " -test.run=^$"
	want := []string{"tool search_kb: step search", "tool add: " + backing + " — Add two numbers.",
		"tool fail: " + backing + " — Always fails.", "tool hang: " + backing + " — Never answers.",
		"tool shout: " + backing + " — Upper-case a text."}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("notes (-want +got):\n%s", d)
	}
}

// TestMCPTimeouts checks that a server that does not answer cannot hold the step: each
// request (start-up handshake, tool call) is bounded by the entry's timeout:, and the
// session stays usable after a call timed out.
func TestMCPTimeouts(t *testing.T) {
	t.Run("tool call never answers", func(t *testing.T) {
		a := build(t, strings.Replace(mcpTools(t, ""), "    env:", "    timeout: 2s\n    env:", 1))
		gen := scripted(func(n int, req providers.GenerateRequest) providers.GenerateResponse {
			switch n {
			case 0:
				return providers.GenerateResponse{ToolCalls: []providers.ToolCall{call("hang", `{}`)}}
			case 1:
				return providers.GenerateResponse{ToolCalls: []providers.ToolCall{call("add", `{"a":1,"b":2}`)}}
			}
			return providers.GenerateResponse{Text: "done"}
		})
		if _, err := a.Run(context.Background(), agentCall(gen, &steptest.Env{}, nil)); err != nil {
			t.Fatal(err)
		}
		var results []string
		for _, r := range gen.Requests()[1:] {
			for _, m := range lastCalls(r.Messages) {
				results = append(results, fmt.Sprintf("%v %s", m.IsError, m.Content))
			}
		}
		if len(results) != 2 || !strings.HasPrefix(results[0], "true calling hang on mcp server ") ||
			!strings.HasSuffix(results[0], ": no answer within 2s (raise the mcp entry's timeout:)") || results[1] != "false 3" {
			t.Errorf("tool results = %q, want the hang timed out and add answered", results)
		}
	})
	t.Run("server never answers the handshake", func(t *testing.T) {
		src := strings.Replace(mcpTools(t, ", AIFLOW_AGENT_TEST_MCP_MUTE: \"1\""), "    env:", "    timeout: 300ms\n    env:", 1)
		_, err := build(t, src).Run(context.Background(), agentCall(scripted(nil), &steptest.Env{}, nil))
		if err == nil || !strings.HasPrefix(err.Error(), "starting mcp server ") || !strings.Contains(err.Error(), "no answer within 300ms (raise the mcp entry's timeout:)") {
			t.Fatalf("error = %v, want the start-up timed out", err)
		}
	})
}
