package aisearch

import (
	"context"
	"sync"
	"testing"

	"github.com/aiflow/aiflow/providers"
)

// TestConcurrentFirstRequests: the first requests with filters, sent at once, must not
// race. cloudflare-go's JSON encoder builds the encoder of a filter value's dynamic type
// on first use inside an encoder shared by every goroutine, writing its fields; the race
// detector caught it in the engine's AI Search example test. Run it with -race, alone
// (`go test -race -run TestConcurrentFirstRequests`), so that no earlier test has built
// those encoders.
func TestConcurrentFirstRequests(t *testing.T) {
	ctx := context.Background()
	b, _ := newBackend(t)
	idx, err := b.Open(ctx, providers.IndexSpec{Name: "docs"}, false)
	if err != nil {
		t.Fatal(err)
	}
	filters := []map[string]any{
		{"folder": "guide/"}, {"version": 2.0}, {"draft": false}, {"tags": map[string]any{"$nin": []any{"a", "b"}}},
		{"version": map[string]any{"$gte": 1.0}}, {"n": 3}, {"folder": map[string]any{"$in": []any{"guide/", "blog/"}}},
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			q := providers.TextSearch{Query: "install", MaxResults: 2, Filter: filters[i%len(filters)]}
			var err error
			if i%2 == 0 {
				_, err = idx.(providers.Answerer).Answer(ctx, providers.AnswerRequest{TextSearch: q})
			} else {
				_, err = idx.(providers.TextSearcher).SearchText(ctx, q)
			}
			if err != nil {
				t.Errorf("request %d: %v", i, err)
			}
		})
	}
	wg.Wait()
}
