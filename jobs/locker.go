package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/jonboulle/clockwork"
)

// SlotLocks records which instance ran a job in a time slot. It is
// implemented by the SQL store, so that replicas sharing a database run each
// job once per slot.
type SlotLocks interface {
	// TryLockSlot claims (job, slot) for owner. It returns true only for the
	// first caller for that pair, and false to every later caller, owner or
	// not.
	TryLockSlot(ctx context.Context, job string, slot time.Time, owner string) (bool, error)
}

// errSlotTaken tells gocron to skip a run another instance already claimed.
var errSlotTaken = errors.New("slot already claimed by another instance")

// lockTimeout bounds a claim so that a stalled database skips a run instead
// of hanging the job's runner.
const lockTimeout = 30 * time.Second

// slotLocker is the gocron.Locker that claims (job, slot) pairs. gocron only
// gives it the job's name, so each job registers its interval beforehand and
// the slot is derived from the clock.
type slotLocker struct {
	locks     SlotLocks
	clock     clockwork.Clock
	owner     string
	intervals map[string]time.Duration // written only before the scheduler starts
}

var _ gocron.Locker = (*slotLocker)(nil)

func (l *slotLocker) register(job string, interval time.Duration) {
	l.intervals[job] = interval
}

// Lock claims the current slot of job; it fails with errSlotTaken when
// another instance claimed it first.
func (l *slotLocker) Lock(ctx context.Context, job string) (gocron.Lock, error) {
	interval, ok := l.intervals[job]
	if !ok {
		return nil, fmt.Errorf("job %q has no registered interval", job)
	}
	slot := slotOf(l.clock.Now(), interval)
	ctx, cancel := context.WithTimeout(ctx, lockTimeout)
	defer cancel()
	claimed, err := l.locks.TryLockSlot(ctx, job, slot, l.owner)
	if err != nil {
		return nil, fmt.Errorf("claim slot %s of job %q: %w", slot.Format(time.RFC3339), job, err)
	}
	if !claimed {
		return nil, errSlotTaken
	}
	return consumedSlot{}, nil
}

// consumedSlot is a claimed slot. Unlocking does nothing: the slot stays
// consumed, so an instance firing late in the same slot does not run again.
type consumedSlot struct{}

func (consumedSlot) Unlock(context.Context) error { return nil }

// slotOf returns the start of the slot of the given interval that now falls
// in, in UTC. Runs fire at slot boundaries, so now is normally a hair past
// one; the small nudge forward keeps a timer that fires a moment early (the
// wall clock was stepped back while it waited) in the slot it was set for.
func slotOf(now time.Time, interval time.Duration) time.Time {
	return now.Add(interval / 100).Truncate(interval).UTC()
}

// nextSlot returns the first slot boundary after now.
func nextSlot(now time.Time, interval time.Duration) time.Time {
	return now.Truncate(interval).Add(interval)
}
