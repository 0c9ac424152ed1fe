package anthropic_test

import (
	"testing"

	"github.com/aiflow/aiflow/providers/internal/providertest"
	"github.com/aiflow/aiflow/providers/wiretest"
)

func TestConcurrentUse(t *testing.T) {
	providertest.ConcurrentGenerate(t, newProvider(t, wiretest.NewAnthropic(t), nil))
}

func TestCanceledContext(t *testing.T) {
	emu := wiretest.NewAnthropic(t)
	emu.Add(wiretest.Fault{Status: 503, Times: 10})
	providertest.CanceledGenerate(t, newProvider(t, emu, nil))
}
