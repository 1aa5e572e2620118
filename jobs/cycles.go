package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/truecost/truecost/domain/pricing"
	"github.com/truecost/truecost/domain/tenancy"
)

// CycleCloseJob is the name of the job that closes resellers' customers'
// months a set number of days after they end.
const CycleCloseJob = "cycle-close"

// CycleCloser closes the months that are due; *pricing.Service implements
// it.
type CycleCloser interface {
	CloseDue(ctx context.Context, caller tenancy.Principal, afterDays int) ([]pricing.OrgMonth, error)
}

func (d Deps) cycleCloseInterval() time.Duration {
	if d.CycleCloseInterval <= 0 {
		return time.Hour
	}
	return d.CycleCloseInterval
}

// CloseDueCycles closes, as the system, every reseller customer's month
// with data that ended Deps.CloseAfterDays days ago or more and is still
// open, and logs how many it closed. Closing a month twice is refused, so
// a pass that overlaps another does no harm; the slot locks make one
// replica run each slot.
func CloseDueCycles(ctx context.Context, deps Deps) error {
	done, err := deps.Cycles.CloseDue(ctx, system, deps.CloseAfterDays)
	deps.logger().InfoContext(ctx, "billing cycles closed", "closed", len(done), "after_days", deps.CloseAfterDays)
	if err != nil {
		return fmt.Errorf("close billing cycles: %w", err)
	}
	return nil
}
