package capability_test

import (
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/capability"
	"github.com/aiflow/aiflow/steps/internal/steptest"
)

func TestOf(t *testing.T) {
	emb := steptest.WordEmbedder(4)
	tests := []struct {
		name    string
		model   *steps.Model
		wantErr string
	}{
		{"serves", steptest.Model(emb, "m"), ""},
		{"lacks", steptest.Model(steptest.Bare{}, "m"), "model test:m (provider kind bare) does not serve embed"},
		{"no model", nil, "no model to embed with: set model: or route: on the step"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := capability.Of[providers.Embedder](tt.model, providers.TaskEmbed)
			if tt.wantErr == "" {
				if err != nil || e == nil {
					t.Fatalf("Of = %v, %v; want the embedder", e, err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("Of error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
