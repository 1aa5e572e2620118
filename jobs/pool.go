package jobs

import (
	"context"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/background"
)

// Pool runs the jobs users start (background.Runner) on a fixed number of
// workers, with a bounded queue in front of them.
type Pool struct {
	work   chan func(context.Context)
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	log    *slog.Logger

	mu     sync.Mutex
	closed bool
}

var _ background.Runner = (*Pool)(nil)

// NewPool starts workers (at least 1) taking work from a queue of queue
// places.
func NewPool(workers, queue int, log *slog.Logger) *Pool {
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pool{work: make(chan func(context.Context), max(queue, 0)), ctx: ctx, cancel: cancel, log: log}
	for range max(workers, 1) {
		p.wg.Add(1)
		go p.worker()
	}
	return p
}

func (p *Pool) worker() {
	defer p.wg.Done()
	for fn := range p.work {
		p.do(fn)
	}
}

func (p *Pool) do(fn func(context.Context)) {
	defer func() {
		if r := recover(); r != nil {
			p.log.Error("background job panicked", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	fn(p.ctx)
}

// Go queues fn; with every worker busy and the queue full it refuses with
// a domain.Unavailable error.
func (p *Pool) Go(fn func(context.Context)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return domain.Errorf(domain.Unavailable, "the server is shutting down; try again shortly")
	}
	select {
	case p.work <- fn:
		return nil
	default:
		return domain.Errorf(domain.Unavailable, "too many jobs are running; try again shortly")
	}
}

// Shutdown stops taking work, lets running and queued work finish for up
// to grace, then cancels what is left (it records itself as interrupted)
// and waits for it to return.
func (p *Pool) Shutdown(grace time.Duration) {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.work)
	}
	p.mu.Unlock()
	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(grace):
		p.cancel()
		<-done
	}
	p.cancel()
}
