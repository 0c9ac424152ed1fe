package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Turn is one message of an agent step's conversation: a user or assistant
// message, a tool call or a tool result.
type Turn struct {
	RunID      string
	StepID     string
	Item       int // for_each item index, or WholeStep
	Index      int // position in the conversation, from 0
	Role       string
	Content    string
	ToolName   string
	ToolCallID string
	Arguments  json.RawMessage // tool call arguments; valid JSON when set
	Usage      Usage
	At         time.Time // zero means now
}

const turnCols = `run_id, step_id, item, idx, role, content, tool_name, tool_call_id, arguments,
	in_tokens, out_tokens, cached_tokens, neurons, usd, requests, at`

// AppendTurn records t. The caller numbers turns; writing an Index that is
// already recorded fails with ErrExists, so a resumed agent cannot write a
// turn twice. The run must exist (ErrNotFound otherwise).
func (s *Store) AppendTurn(ctx context.Context, t Turn) error {
	args, err := turnArgs(t)
	if err != nil {
		return fmt.Errorf("recording turn %d of step %s: %w", t.Index, t.StepID, err)
	}
	const q = `INSERT INTO turns (` + turnCols + `) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`
	_, err = s.exec(ctx, q, args...)
	switch {
	case isUniqueViolation(err):
		err = ErrExists
	case isForeignKeyViolation(err):
		err = fmt.Errorf("run %q: %w", t.RunID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("recording turn %d of step %s: %w", t.Index, t.StepID, err)
	}
	return nil
}

func turnArgs(t Turn) ([]any, error) {
	switch {
	case t.RunID == "" || t.StepID == "":
		return nil, fmt.Errorf("%w: empty run or step id", ErrInvalid)
	case t.Item < WholeStep || t.Index < 0:
		return nil, fmt.Errorf("%w: item %d, index %d", ErrInvalid, t.Item, t.Index)
	case t.Role == "":
		return nil, fmt.Errorf("%w: empty role", ErrInvalid)
	}
	a, err := rawArg("arguments", t.Arguments)
	if err != nil {
		return nil, err
	}
	if t.At.IsZero() {
		t.At = time.Now()
	}
	args := []any{t.RunID, t.StepID, t.Item, t.Index, t.Role, t.Content, t.ToolName, t.ToolCallID, a}
	args = append(args, usageArgs(t.Usage)...)
	return append(args, unixNano(t.At)), nil
}

// Turns returns the turns of a step in a run, ordered by item then index.
func (s *Store) Turns(ctx context.Context, runID, stepID string) ([]Turn, error) {
	const q = `SELECT ` + turnCols + ` FROM turns WHERE run_id = ? AND step_id = ? ORDER BY item, idx`
	rows, err := s.query(ctx, q, runID, stepID)
	if err != nil {
		return nil, fmt.Errorf("reading turns of step %s: %w", stepID, err)
	}
	defer rows.Close()
	var out []Turn
	for rows.Next() {
		t, err := scanTurn(rows)
		if err != nil {
			return nil, fmt.Errorf("reading turns of step %s: %w", stepID, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading turns of step %s: %w", stepID, err)
	}
	return out, nil
}

func scanTurn(rows *sql.Rows) (Turn, error) {
	var t Turn
	var args []byte
	var at int64
	dest := []any{&t.RunID, &t.StepID, &t.Item, &t.Index, &t.Role, &t.Content, &t.ToolName,
		&t.ToolCallID, &args}
	dest = append(dest, usageDest(&t.Usage)...)
	if err := rows.Scan(append(dest, &at)...); err != nil {
		return Turn{}, err
	}
	t.Arguments, t.At = rawValue(args), fromUnixNano(at)
	return t, nil
}
