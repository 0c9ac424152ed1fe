package servertest

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/aiflow/aiflow/engine"
	_ "github.com/aiflow/aiflow/providers/all"
	"github.com/aiflow/aiflow/spec"
	_ "github.com/aiflow/aiflow/steps/all"
)

// Compile parses and compiles a flow against the built-in step kinds and providers, in
// the shape temporal.Activities.Compile takes: the tests' and the bench's in-process
// workers compile the flows they run through this one function.
func Compile(file string, src []byte, _ []string) (*engine.Flow, error) {
	f, diags := spec.Parse(file, src)
	if diags.HasErrors() {
		return nil, diags.Err()
	}
	fl, diags := engine.Compile(f, engine.Options{})
	if diags.HasErrors() {
		return nil, diags.Err()
	}
	return fl, nil
}

// History reads the whole event history of the workflow id from the server: the
// replay tests replay it, the fan-out test and the bench count its events.
func History(ctx context.Context, cl client.Client, id string) (*historypb.History, error) {
	it := cl.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", id, err)
		}
		h.Events = append(h.Events, ev)
	}
	return h, nil
}
