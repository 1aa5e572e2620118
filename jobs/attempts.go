package jobs

import (
	"context"
	"fmt"

	"github.com/truecost/truecost/domain/tenancy"
)

// AttemptPruner forgets failed sign-ins and API token attempts too old to
// count; *tenancy.Service implements it.
type AttemptPruner interface {
	PruneAttempts(ctx context.Context, caller tenancy.Principal) error
}

// LoginAttemptsJob is the name of the hourly job that prunes failed
// sign-ins.
const LoginAttemptsJob = "login-attempts"

// PruneLoginAttempts runs one pass of AttemptPruner, so that the records of
// throttled sign-ins do not grow with every address that ever tried.
func PruneLoginAttempts(ctx context.Context, deps Deps) error {
	if err := deps.Attempts.PruneAttempts(ctx, system); err != nil {
		return fmt.Errorf("prune failed sign-ins: %w", err)
	}
	return nil
}
