package engine

import (
	"slices"
	"sync"
)

// scheduler runs a walk's steps on a pool of reused goroutines: a step is queued when
// its last dependency finishes, and a free worker takes it. A goroutine per step grew a
// fresh stack through the expression evaluator and the store for every step; copying
// those stacks was a fifth of a small flow's cost.
//
// At most limit workers (the run's parallelism, as many steps as can hold an execution
// slot at once) run steps, plus one for every worker blocked on something other than a
// slot (a provider's concurrency limit, the budget, a for_each step's items; see
// block), so a step queued behind those still starts as it did with a goroutine each.
type scheduler struct {
	w     *walker
	limit int
	plan  *walkPlan

	mu      sync.Mutex
	work    sync.Cond // signalled when a step is queued or the walk ends
	queue   []int32   // steps ready to run, by index in plan.nodes
	waiting []int32   // by step: dependencies not finished
	left    int       // steps not finished
	workers int
	busy    int // workers running a step
	blocked int // busy workers blocked outside a slot
	done    chan struct{}
}

// walkPlan is a flow's steps as the scheduler walks them, worked out once per flow
// (graph) instead of as maps keyed by step id for every run: a run copies deps and
// indexes the rest.
type walkPlan struct {
	nodes      []*Node   // in Flow.Order
	deps       []int32   // by step: how many steps it waits for
	dependents [][]int32 // by step: the steps that wait for it, in order
}

// newWalkPlan works out fl's walkPlan from its Order and its nodes' Deps.
func newWalkPlan(fl *Flow) *walkPlan {
	p := &walkPlan{nodes: make([]*Node, len(fl.Order)), deps: make([]int32, len(fl.Order)), dependents: make([][]int32, len(fl.Order))}
	index := make(map[string]int32, len(fl.Order))
	for i, id := range fl.Order {
		index[id] = int32(i)
		p.nodes[i] = fl.Nodes[id]
	}
	for i, n := range p.nodes {
		p.deps[i] = int32(len(n.Deps))
		for _, d := range n.Deps {
			p.dependents[index[d]] = append(p.dependents[index[d]], int32(i))
		}
	}
	return p
}

// walkPlan is the flow's plan from compilation, or a new one for a flow not compiled
// by graph.
func (fl *Flow) walkPlan() *walkPlan {
	if p := fl.walk; p != nil && len(p.nodes) == len(fl.Order) {
		return p
	}
	return newWalkPlan(fl)
}

// runAll runs every step of the walk and returns when all have finished.
func (w *walker) runAll() {
	p := w.fl.walkPlan()
	s := &scheduler{w: w, limit: max(w.opts.Parallelism, 1), plan: p, waiting: slices.Clone(p.deps),
		queue: make([]int32, 0, len(p.nodes)), left: len(p.nodes), done: make(chan struct{})}
	s.work.L = &s.mu
	if s.left == 0 {
		return
	}
	w.sched = s
	s.mu.Lock()
	s.workers = 1 // the calling goroutine, below
	for i, c := range s.waiting {
		if c == 0 {
			s.push(int32(i))
		}
	}
	s.mu.Unlock()
	// The calling goroutine works too, instead of waiting: its stack is grown already
	// (a run's first steps grew each new worker's), and a chain needs no other.
	s.worker()
	<-s.done
}

// push queues step i and starts a worker for it when every worker is busy and the pool
// may grow. s.mu is held.
func (s *scheduler) push(i int32) {
	s.queue = append(s.queue, i) // never grows: each step is queued once
	s.work.Signal()
	s.grow()
}

// grow starts a worker when more steps are queued than workers are free. s.mu is held.
func (s *scheduler) grow() {
	if len(s.queue) > s.workers-s.busy && s.workers < s.limit+s.blocked {
		s.workers++
		go s.worker()
	}
}

func (s *scheduler) worker() {
	var scope scopeBuf // reused by the steps this worker runs
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		for len(s.queue) == 0 {
			if s.left == 0 {
				s.workers--
				return
			}
			s.work.Wait()
		}
		i := s.queue[0]
		s.queue = s.queue[1:]
		s.busy++
		s.mu.Unlock()
		s.w.runNodeIn(s.plan.nodes[i], &scope)
		scope.done()
		s.mu.Lock()
		s.busy--
		s.left--
		for _, d := range s.plan.dependents[i] {
			if s.waiting[d]--; s.waiting[d] == 0 {
				s.push(d)
			}
		}
		if s.left == 0 {
			close(s.done)
			s.work.Broadcast()
		}
	}
}

// block tells the scheduler that the calling step is about to wait for something other
// than an execution slot, and returns the func to call when the wait is over: another
// worker may start meanwhile, so a queued step does not wait behind the blocked one.
// Nil-safe: a walker without a scheduler (plan) blocks as it is.
func (s *scheduler) block() func() {
	if s == nil {
		return func() {}
	}
	s.mu.Lock()
	s.blocked++
	s.grow()
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		s.blocked--
		s.mu.Unlock()
	}
}
