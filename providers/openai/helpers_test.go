package openai_test

import (
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/internal/providertest"
	"github.com/aiflow/aiflow/providers/openai"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// Shared helpers (providers/internal/providertest), under the short names the tests use.
var (
	lastBody        = providertest.LastBody
	asProviderError = providertest.AsProviderError
	user            = providertest.User
)

// newProvider builds an openai provider against the emulator, with extra settings
// (a nil value deletes a default one).
func newProvider(t *testing.T, emu *wiretest.OpenAI, extra map[string]any) *openai.Provider {
	t.Helper()
	settings := providertest.Settings(map[string]any{"api_key": emu.Key(), "base_url": emu.URL()}, extra)
	p, err := openai.New(providers.Config{Name: "oa", Kind: openai.Kind, Settings: settings, Retry: providertest.FastRetry})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p.(*openai.Provider)
}
