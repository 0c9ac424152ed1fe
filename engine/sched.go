package engine

import "sync"

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

	mu         sync.Mutex
	work       sync.Cond // signalled when a step is queued or the walk ends
	queue      []*Node
	waiting    map[string]int     // step → dependencies not finished
	dependents map[string][]*Node // step → the steps that wait for it
	left       int                // steps not finished
	workers    int
	busy       int // workers running a step
	blocked    int // busy workers blocked outside a slot
	done       chan struct{}
}

// runAll runs every step of the walk and returns when all have finished.
func (w *walker) runAll() {
	s := &scheduler{w: w, limit: max(w.opts.Parallelism, 1), waiting: make(map[string]int, len(w.fl.Order)),
		dependents: make(map[string][]*Node, len(w.fl.Order)), left: len(w.fl.Order), done: make(chan struct{})}
	s.work.L = &s.mu
	if s.left == 0 {
		return
	}
	w.sched = s
	s.mu.Lock()
	for _, id := range w.fl.Order {
		n := w.fl.Nodes[id]
		s.waiting[id] = len(n.Deps)
		for _, d := range n.Deps {
			s.dependents[d] = append(s.dependents[d], n)
		}
	}
	for _, id := range w.fl.Order {
		if s.waiting[id] == 0 {
			s.push(w.fl.Nodes[id])
		}
	}
	s.mu.Unlock()
	<-s.done
}

// push queues n and starts a worker for it when every worker is busy and the pool may
// grow. s.mu is held.
func (s *scheduler) push(n *Node) {
	s.queue = append(s.queue, n)
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
		n := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.busy++
		s.mu.Unlock()
		s.w.runNodeIn(n, &scope)
		scope.done()
		s.mu.Lock()
		s.busy--
		s.left--
		for _, d := range s.dependents[n.ID] {
			if s.waiting[d.ID]--; s.waiting[d.ID] == 0 {
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
