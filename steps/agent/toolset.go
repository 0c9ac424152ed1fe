package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
)

// liveTool is a tool the model may call during one run of the step.
type liveTool struct {
	spec   providers.ToolSpec
	schema *jsonschema.Schema
	run    func(ctx context.Context, args map[string]any) (toolOut, error)
}

// toolset is the tools of one run: declared tools bound to the call's Env, and the tools
// of the MCP servers it started. close stops the servers.
type toolset struct {
	specs  []providers.ToolSpec
	byName map[string]*liveTool
	conns  []*mcpConn
}

// openTools binds the declared tools and starts the MCP servers, in declaration order.
func openTools(ctx context.Context, decls []*decl, env steps.Env) (*toolset, error) {
	ts := &toolset{byName: map[string]*liveTool{}}
	for _, d := range decls {
		var err error
		if d.mcp != nil {
			err = ts.addServer(ctx, d.mcp)
		} else {
			b := d.backing
			err = ts.add(&liveTool{spec: d.spec, schema: d.schema, run: func(ctx context.Context, args map[string]any) (toolOut, error) {
				return b.run(ctx, env, args)
			}})
		}
		if err != nil {
			ts.close()
			return nil, err
		}
	}
	return ts, nil
}

func (ts *toolset) add(t *liveTool) error {
	if _, dup := ts.byName[t.spec.Name]; dup {
		return fmt.Errorf("two tools are named %q", t.spec.Name)
	}
	ts.byName[t.spec.Name] = t
	ts.specs = append(ts.specs, t.spec)
	return nil
}

// addServer starts an MCP server and adds its tools, their input schemas compiled.
func (ts *toolset) addServer(ctx context.Context, s *mcpServer) error {
	c, err := s.connect(ctx)
	if err != nil {
		return err
	}
	ts.conns = append(ts.conns, c)
	for _, t := range c.tools {
		sp, err := mcpSpec(t)
		if err != nil {
			return fmt.Errorf("mcp server %s: tool %s: %w", s.command[0], t.Name, err)
		}
		schema, err := compileSchema(t.Name, sp.Parameters)
		if err != nil {
			return fmt.Errorf("mcp server %s: tool %s: input schema: %s", s.command[0], t.Name, firstLine(err.Error()))
		}
		name := t.Name
		if err := ts.add(&liveTool{spec: sp, schema: schema, run: func(ctx context.Context, args map[string]any) (toolOut, error) {
			return c.call(ctx, name, args)
		}}); err != nil {
			return fmt.Errorf("mcp server %s: %w", s.command[0], err)
		}
	}
	return nil
}

func (ts *toolset) names() []string {
	out := make([]string, len(ts.specs))
	for i, s := range ts.specs {
		out[i] = s.Name
	}
	return out
}

// close stops every MCP server the run started.
func (ts *toolset) close() error {
	var errs []error
	for _, c := range ts.conns {
		if err := c.close(); err != nil {
			errs = append(errs, fmt.Errorf("stopping mcp server %s: %w", c.server.command[0], err))
		}
	}
	return errors.Join(errs...)
}
