package catalog

import (
	"errors"
	"fmt"

	"github.com/aiflow/aiflow/providers"
)

// validate reports every inconsistent entry of a catalogue file.
func (f file) validate() error {
	var errs []error
	if f.NeuronUSDPerThousand <= 0 {
		errs = append(errs, errors.New("neuron_usd_per_thousand must be positive"))
	}
	seen := map[string]bool{}
	for i, m := range f.Models {
		key := m.Provider + " " + m.ID
		if seen[key] {
			errs = append(errs, fmt.Errorf("models[%d]: duplicate %s", i, key))
		}
		seen[key] = true
		if err := m.validate(); err != nil {
			errs = append(errs, fmt.Errorf("models[%d] (%s): %w", i, key, err))
		}
	}
	for i, rl := range f.RateLimits {
		if err := rl.validate(); err != nil {
			errs = append(errs, fmt.Errorf("rate_limits[%d]: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

var tasks = map[providers.Task]bool{
	providers.TaskGenerate: true, providers.TaskEmbed: true, providers.TaskSummarize: true,
	providers.TaskTranslate: true, providers.TaskClassify: true, providers.TaskImage: true, providers.TaskClassifyImage: true,
	providers.TaskTranscribe: true,
}

// validate checks one model entry.
func (m Model) validate() error {
	var errs []error
	if m.Provider == "" || m.ID == "" || m.Source == "" {
		errs = append(errs, errors.New("provider, id and source are required"))
	}
	if !tasks[m.Task] {
		errs = append(errs, fmt.Errorf("unknown task %q", m.Task))
	}
	if m.Task == providers.TaskEmbed && (m.Dimensions <= 0 || m.MaxBatch <= 0) {
		errs = append(errs, errors.New("embedding models need dimensions and max_batch"))
	}
	if m.Task != providers.TaskEmbed && (m.Dimensions != 0 || m.MaxBatch != 0) {
		errs = append(errs, errors.New("dimensions and max_batch apply to embedding models only"))
	}
	priced := len(m.Prices) > 0 || m.USDPerMInput > 0 || m.USDPerMOutput > 0 || m.NeuronsPerMInput > 0 || m.NeuronsPerMOutput > 0 ||
		m.NeuronsPerTile > 0 || m.NeuronsPerStep > 0 || m.NeuronsPerImage > 0 || m.USDPerImage > 0
	if priced == (m.Free || m.Unpriced) || (m.Free && m.Unpriced) {
		errs = append(errs, errors.New("exactly one of a price, free or unpriced is required"))
	}
	if m.USDPerMInput < 0 || m.USDPerMOutput < 0 || m.NeuronsPerMInput < 0 || m.NeuronsPerMOutput < 0 ||
		m.ContextWindow < 0 {
		errs = append(errs, errors.New("negative number"))
	}
	if m.API != "" && m.API != "openai-chat" {
		errs = append(errs, fmt.Errorf("unknown api %q", m.API))
	}
	return errors.Join(errs...)
}

// validate checks one rate-limit entry.
func (rl RateLimit) validate() error {
	if rl.Provider == "" || rl.Source == "" || !tasks[rl.Task] || rl.RequestsPerMinute <= 0 {
		return fmt.Errorf("%s %s: provider, known task, source and a positive requests_per_minute are required", rl.Provider, rl.Task)
	}
	return nil
}
