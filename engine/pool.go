package engine

import "sync"

// ProviderPool holds providers opened once and shared by many runs of one flow (see
// RunOptions.Pool). A provider's settings are evaluated by the first run that uses it,
// with that run's vars.
type ProviderPool struct {
	mu    sync.Mutex
	slots map[string]*provSlot
}

// NewProviderPool returns an empty pool.
func NewProviderPool() *ProviderPool { return &ProviderPool{slots: map[string]*provSlot{}} }

func (p *ProviderPool) slot(name string) *provSlot {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.slots[name]
	if !ok {
		s = &provSlot{}
		p.slots[name] = s
	}
	return s
}

// Close closes every provider the pool opened.
func (p *ProviderPool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.slots {
		if s.p != nil {
			s.p.Close()
		}
	}
}
