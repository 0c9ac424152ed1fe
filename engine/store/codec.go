package store

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Usage is what a run, step or turn consumed. Its fields match
// providers.Usage one for one, so the engine converts with store.Usage(u).
type Usage struct {
	InputTokens  int     `json:"input_tokens,omitempty"`
	OutputTokens int     `json:"output_tokens,omitempty"`
	CachedTokens int     `json:"cached_tokens,omitempty"`
	Neurons      float64 `json:"neurons,omitempty"`
	USD          float64 `json:"usd,omitempty"`
	Requests     int     `json:"requests,omitempty"`
}

// usageArgs returns u in the column order in_tokens, out_tokens,
// cached_tokens, neurons, usd, requests.
func usageArgs(u Usage) []any {
	return []any{u.InputTokens, u.OutputTokens, u.CachedTokens, u.Neurons, u.USD, u.Requests}
}

// usageDest returns scan destinations in the same column order.
func usageDest(u *Usage) []any {
	return []any{&u.InputTokens, &u.OutputTokens, &u.CachedTokens, &u.Neurons, &u.USD, &u.Requests}
}

// unixNano encodes t; the zero time is 0.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromUnixNano decodes what unixNano wrote.
func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// encodeJSON encodes a map (or any value) for a TEXT column; nil and empty
// maps are NULL.
func encodeJSON[M ~map[string]V, V any](field string, m M) (any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w: %w", field, ErrInvalid, err)
	}
	return string(b), nil
}

// decodeJSON decodes a TEXT column written by encodeJSON; NULL leaves *m nil.
func decodeJSON[M ~map[string]V, V any](field string, col sql.NullString, m *M) error {
	if !col.Valid || col.String == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(col.String), m); err != nil {
		return fmt.Errorf("decoding %s: %w", field, err)
	}
	return nil
}

// rawArg checks that m is JSON and returns it as a BLOB argument; an empty
// message is NULL.
func rawArg(field string, m json.RawMessage) (any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	if !json.Valid(m) {
		return nil, fmt.Errorf("%s: %w: not valid JSON", field, ErrInvalid)
	}
	return []byte(m), nil
}

// rawValue returns a scanned BLOB as a json.RawMessage (nil for NULL).
func rawValue(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}
