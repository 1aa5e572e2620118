package jobs_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/jobs"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestIngestionHousekeepingRunsOnePassAsOfTheClock(t *testing.T) {
	t.Parallel()
	errStore := errors.New("store down")
	tests := []struct {
		name    string
		result  billing.HousekeepResult
		err     error
		wantErr error
	}{
		{name: "clean pass", result: billing.HousekeepResult{StaleRunsFailed: 1, OrphanRowsDeleted: 20, LocksPruned: 3}},
		{name: "store error is returned", err: errStore, wantErr: errStore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			now := time.Date(2026, 11, 22, 13, 0, 0, 0, time.UTC)
			hk := &housekeeper{do: func(context.Context, time.Time) (billing.HousekeepResult, error) { return tt.result, tt.err }}
			var logs logBuffer
			err := jobs.IngestionHousekeeping(context.Background(), jobs.Deps{
				Housekeeper: hk, Clock: clockwork.NewFakeClockAt(now), Logger: logs.logger(),
			})
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("IngestionHousekeeping() = %v, want %v", err, tt.wantErr)
			}
			if calls, _, _ := hk.snapshot(); len(calls) != 1 || !calls[0].Equal(now) {
				t.Errorf("Housekeep called with %v, want once with %s", calls, now)
			}
			if tt.wantErr != nil {
				return
			}
			recs := logs.records(t, "ingestion housekeeping done")
			if len(recs) != 1 || recs[0]["orphan_rows_deleted"] != float64(20) || recs[0]["stale_runs_failed"] != float64(1) || recs[0]["locks_pruned"] != float64(3) {
				t.Errorf("records %v, want one with the pass's counts", recs)
			}
		})
	}
}
