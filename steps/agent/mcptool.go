package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
)

// mcpServer is an {mcp: {command, env, include, timeout}} entry: the tools of an MCP
// server spoken to over stdio. The server is started when the step runs (and by
// DiscoverPlanNotes), in the flow file's directory, with only PATH, HOME, the temp and
// locale variables of aiflow's environment plus env:, and stopped when the step ends.
// Every request to it (the start-up handshake, the tool listing, each tool call) must be
// answered within timeout, so a server that stops answering cannot hold the run.
type mcpServer struct {
	command []string
	env     map[string]string
	include []string
	dir     string
	timeout time.Duration
}

var mcpKeys = []string{"command", "env", "include", "timeout"}

// DefaultMCPTimeout bounds each request to an MCP server whose entry sets no timeout:.
const DefaultMCPTimeout = 60 * time.Second

// mcpStop bounds how long a server may take to exit once its stdin is closed.
const mcpStop = 2 * time.Second

func decodeMCPEntry(n node, f map[string]node, dir string, d *spec.Diagnostics) *decl {
	before := len(*d)
	for _, k := range []string{"name", "description", "parameters"} {
		if v, ok := f[k]; ok {
			v.errorf(d, "an mcp entry takes %s from the server; remove %s:", k, k)
		}
	}
	m := f["mcp"]
	mf, ok := m.fields(d, "an mcp server", mcpKeys...)
	if !ok {
		return nil
	}
	s := &mcpServer{dir: dir, timeout: DefaultMCPTimeout}
	if c, ok := mf["command"]; !ok {
		m.errorf(d, "an mcp server needs command: [program, args...]")
	} else if s.command, ok = c.strs(d, "command"); ok && (len(s.command) == 0 || s.command[0] == "") {
		c.errorf(d, "command is empty")
	}
	if e, ok := mf["env"]; ok {
		s.env, _ = e.strMap(d, "env")
	}
	if i, ok := mf["include"]; ok {
		s.include, _ = i.strs(d, "include")
	}
	if tn, ok := mf["timeout"]; ok {
		s.timeout = decodeTimeout(tn, d)
	}
	if spec.Diagnostics((*d)[before:]).HasErrors() {
		return nil
	}
	return &decl{mcp: s}
}

func (s *mcpServer) note() string {
	n := "mcp " + strings.Join(s.command, " ")
	if len(s.include) > 0 {
		n += " (only " + strings.Join(s.include, ", ") + ")"
	}
	return n
}

// environ is the server's environment: a few variables a program needs to start, then
// the entry's env:. Credentials in aiflow's environment are not passed on.
func (s *mcpServer) environ() []string {
	var out []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "TEMP", "TMP", "LANG", "LC_ALL", "SYSTEMROOT"} {
		if v, ok := os.LookupEnv(k); ok {
			out = append(out, k+"="+v)
		}
	}
	for _, k := range sortedKeys(s.env) {
		out = append(out, k+"="+s.env[k])
	}
	return out
}

// mcpConn is a running server and the tools it offers.
type mcpConn struct {
	server  *mcpServer
	session *mcp.ClientSession
	tools   []*mcp.Tool
	stderr  *tail
}

// timedOut explains err when the request's own timeout (not the caller's context) ended
// it.
func (s *mcpServer) timedOut(ctx, rctx context.Context, err error) error {
	if ctx.Err() == nil && errors.Is(rctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %s (raise the mcp entry's timeout:)", s.timeout)
	}
	return err
}

// connect starts the server and lists its tools (those in include:, when given).
func (s *mcpServer) connect(ctx context.Context) (*mcpConn, error) {
	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	cmd := exec.Command(s.command[0], s.command[1:]...)
	cmd.Dir, cmd.Env = s.dir, s.environ()
	c := &mcpConn{server: s, stderr: &tail{max: 2048}}
	cmd.Stderr = c.stderr
	client := mcp.NewClient(&mcp.Implementation{Name: "aiflow", Version: "1"}, nil)
	session, err := client.Connect(rctx, &mcp.CommandTransport{Command: cmd, TerminateDuration: mcpStop}, nil)
	if err != nil {
		if cmd.Process != nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		return nil, c.fail("starting", s.timedOut(ctx, rctx, err))
	}
	c.session = session
	for t, err := range session.Tools(rctx, nil) {
		if err != nil {
			c.close()
			return nil, c.fail("listing the tools of", s.timedOut(ctx, rctx, err))
		}
		if len(s.include) == 0 || contains(s.include, t.Name) {
			c.tools = append(c.tools, t)
		}
	}
	if missing := c.missing(); len(missing) > 0 {
		c.close()
		return nil, fmt.Errorf("mcp server %s offers no tool %s", s.command[0], strings.Join(missing, ", "))
	}
	return c, nil
}

func (c *mcpConn) missing() []string {
	var out []string
	for _, name := range c.server.include {
		found := false
		for _, t := range c.tools {
			found = found || t.Name == name
		}
		if !found {
			out = append(out, name)
		}
	}
	return out
}

func (c *mcpConn) fail(doing string, err error) error {
	if s := strings.TrimSpace(c.stderr.String()); s != "" {
		return fmt.Errorf("%s mcp server %s: %w (its stderr ends: %s)", doing, c.server.command[0], err, s)
	}
	return fmt.Errorf("%s mcp server %s: %w", doing, c.server.command[0], err)
}

// close ends the session, which closes the server's stdin, waits for it to exit and
// signals it when it does not.
func (c *mcpConn) close() error {
	if c.session == nil {
		return nil
	}
	return c.session.Close()
}

// spec is the tool as offered to the model: the server's name, description and input
// schema.
func mcpSpec(t *mcp.Tool) (providers.ToolSpec, error) {
	params, err := asObject(t.InputSchema)
	if err != nil {
		return providers.ToolSpec{}, err
	}
	if params == nil {
		params = map[string]any{"type": "object", "properties": map[string]any{}}
	}
	desc := t.Description
	if desc == "" {
		desc = t.Title
	}
	return providers.ToolSpec{Name: t.Name, Description: desc, Parameters: params}, nil
}

func asObject(v any) (map[string]any, error) {
	if v == nil {
		return nil, nil
	}
	if m, ok := v.(map[string]any); ok {
		return m, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("input schema is not an object")
	}
	return m, nil
}

// call runs one tool; a result flagged isError comes back as an error with its text.
func (c *mcpConn) call(ctx context.Context, name string, args map[string]any) (toolOut, error) {
	rctx, cancel := context.WithTimeout(ctx, c.server.timeout)
	defer cancel()
	res, err := c.session.CallTool(rctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		return toolOut{}, c.fail("calling "+name+" on", c.server.timedOut(ctx, rctx, err))
	}
	text := contentText(res)
	if res.IsError {
		return toolOut{}, fmt.Errorf("%s", shorten(text, 2000))
	}
	return toolOut{text: clip(text, MaxToolResult)}, nil
}

// contentText joins a result's text content; without text it is the structured content
// as JSON, and other content is named by its type.
func contentText(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		switch x := c.(type) {
		case *mcp.TextContent:
			parts = append(parts, x.Text)
		default:
			parts = append(parts, fmt.Sprintf("[%T content omitted]", c))
		}
	}
	if len(parts) == 0 && res.StructuredContent != nil {
		b, _ := json.Marshal(res.StructuredContent)
		return string(b)
	}
	return strings.Join(parts, "\n")
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
