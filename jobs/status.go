package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/tenancy"
)

// StatusChecker re-evaluates the billing status of every organization's
// cloud accounts; *accounts.Service implements it.
type StatusChecker interface {
	CheckAll(ctx context.Context, caller tenancy.Principal) (accounts.CheckReport, error)
}

func (d Deps) statusInterval() time.Duration {
	if d.StatusInterval <= 0 {
		return time.Hour
	}
	return d.StatusInterval
}

// statusTimeout bounds one pass: a pass only reads the store, so a quarter
// of an hour is ample, and it never runs into the next slot.
func (d Deps) statusTimeout() time.Duration {
	return min(15*time.Minute, d.statusInterval()*9/10)
}

// BillingStatus runs one billing status check over every organization's
// accounts and logs how many organizations and accounts it checked and how
// many accounts changed status. A pass that failed for some organizations
// still logs what it did for the others before returning the error.
func BillingStatus(ctx context.Context, deps Deps) error {
	rep, err := deps.Status.CheckAll(ctx, system)
	attrs := []any{"organizations", rep.Organizations, "accounts", rep.Accounts, "changed", rep.Changed}
	if err != nil {
		deps.logger().WarnContext(ctx, "billing status check incomplete", attrs...)
		return fmt.Errorf("billing status check: %w", err)
	}
	deps.logger().InfoContext(ctx, "billing status check done", attrs...)
	return nil
}
