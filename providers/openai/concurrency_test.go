package openai_test

import (
	"testing"

	"github.com/aiflow/aiflow/providers/internal/providertest"
	"github.com/aiflow/aiflow/providers/wiretest"
)

func TestConcurrentUse(t *testing.T) {
	providertest.ConcurrentGenerate(t, newProvider(t, wiretest.NewOpenAI(t), nil))
}

func TestCanceledContext(t *testing.T) {
	emu := wiretest.NewOpenAI(t)
	emu.Add(wiretest.Fault{Status: 503, Times: 10})
	providertest.CanceledGenerate(t, newProvider(t, emu, nil))
}
