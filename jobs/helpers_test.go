package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/jobs"
)

// start is mid-slot, so the first hourly run is due at 10:00.
var start = time.Date(2026, 11, 22, 9, 17, 23, 0, time.UTC)

// memLocks is an in-memory jobs.SlotLocks that also counts claims.
type memLocks struct {
	mu       sync.Mutex
	owners   map[slotKey]string
	attempts map[slotKey]int
	fail     map[slotKey]error
}

type slotKey struct {
	job  string
	slot time.Time
}

func newMemLocks() *memLocks {
	return &memLocks{owners: map[slotKey]string{}, attempts: map[slotKey]int{}, fail: map[slotKey]error{}}
}

func (m *memLocks) TryLockSlot(_ context.Context, job string, slot time.Time, owner string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := slotKey{job, slot}
	m.attempts[k]++
	if err := m.fail[k]; err != nil {
		return false, err
	}
	if _, taken := m.owners[k]; taken {
		return false, nil
	}
	m.owners[k] = owner
	return true, nil
}

func (m *memLocks) failSlot(job string, slot time.Time, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail[slotKey{job, slot}] = err
}

func (m *memLocks) claims(job string, slot time.Time) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.attempts[slotKey{job, slot}]
}

// slotTally counts, across replicas, the claims made through SlotLocks
// wrapped by it and how many of them won.
type slotTally struct {
	mu       sync.Mutex
	attempts map[slotKey]int
	wins     map[slotKey]int
}

func newSlotTally() *slotTally {
	return &slotTally{attempts: map[slotKey]int{}, wins: map[slotKey]int{}}
}

// wrap returns locks reporting to the tally.
func (c *slotTally) wrap(locks jobs.SlotLocks) jobs.SlotLocks {
	return tallied{locks, c}
}

func (c *slotTally) counts(job string, slot time.Time) (attempts, wins int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.attempts[slotKey{job, slot}], c.wins[slotKey{job, slot}]
}

type tallied struct {
	jobs.SlotLocks
	tally *slotTally
}

func (l tallied) TryLockSlot(ctx context.Context, job string, slot time.Time, owner string) (bool, error) {
	ok, err := l.SlotLocks.TryLockSlot(ctx, job, slot, owner)
	l.tally.mu.Lock()
	defer l.tally.mu.Unlock()
	l.tally.attempts[slotKey{job, slot}]++
	if ok {
		l.tally.wins[slotKey{job, slot}]++
	}
	return ok, err
}

// housekeeper is a billing.Housekeeper recording its calls; do, when set,
// decides what each call does.
type housekeeper struct {
	do func(ctx context.Context, now time.Time) (billing.HousekeepResult, error)

	mu         sync.Mutex
	calls      []time.Time
	running    int
	maxRunning int
	finished   int
}

func (h *housekeeper) Housekeep(ctx context.Context, now time.Time) (billing.HousekeepResult, error) {
	h.mu.Lock()
	h.calls = append(h.calls, now)
	h.running++
	h.maxRunning = max(h.maxRunning, h.running)
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.running--
		h.finished++
		h.mu.Unlock()
	}()
	if h.do != nil {
		return h.do(ctx, now)
	}
	return billing.HousekeepResult{}, nil
}

func (h *housekeeper) snapshot() (calls []time.Time, finished, maxRunning int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Time(nil), h.calls...), h.finished, h.maxRunning
}

func (h *housekeeper) callCount() int {
	calls, _, _ := h.snapshot()
	return len(calls)
}

func (h *housekeeper) finishedCount() int {
	_, finished, _ := h.snapshot()
	return finished
}

// startReplica starts a Scheduler and shuts it down when the test ends.
func startReplica(t *testing.T, deps jobs.Deps, opts ...jobs.Option) *jobs.Scheduler {
	t.Helper()
	s, err := jobs.New(deps, opts...)
	if err != nil {
		t.Fatalf("jobs.New: %v", err)
	}
	s.Start()
	t.Cleanup(func() {
		if err := s.Shutdown(); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s
}

// waitArmed waits until n job timers wait on the clock: every scheduler has
// taken its last firing and set up the next.
func waitArmed(t *testing.T, clock *clockwork.FakeClock, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clock.BlockUntilContext(ctx, n); err != nil {
		t.Fatalf("waiting for %d armed job timers: %v", n, err)
	}
}

// fireSlot moves the clock a second past the slot boundary, as a real timer
// fires a moment late, and waits for the n schedulers sharing the clock to
// set up their next run. (gocron can fire a job twice when the clock reads
// its due time exactly, which a real clock never does.)
func fireSlot(t *testing.T, clock *clockwork.FakeClock, slot time.Time, n int) {
	t.Helper()
	clock.Advance(slot.Add(time.Second).Sub(clock.Now()))
	waitArmed(t, clock, n)
}

// settle gives gocron time to free a job after its run returned: until it
// does, a firing of the job is skipped as overlapping (singleton mode), and
// nothing outside gocron can observe the moment. In production the next
// firing is an interval away.
func settle() { time.Sleep(100 * time.Millisecond) }

// eventually polls cond until it holds or the wait runs out.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !within(10*time.Second, cond) {
		t.Fatalf("timed out waiting until %s", what)
	}
}

func within(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

// logBuffer collects JSON log records from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// records returns the records whose message is msg.
func (b *logBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(b.buf.Bytes()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}
