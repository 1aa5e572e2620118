package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/truecost/truecost/domain/tenancy"
)

// ExportWriter writes queued billing exports; *exports.Service implements
// it.
type ExportWriter interface {
	WriteQueued(ctx context.Context, caller tenancy.Principal, limit int) (int, error)
}

// BillingExportsJob is the name of the job that writes queued billing
// exports.
const BillingExportsJob = "billing-exports"

func (d Deps) exportInterval() time.Duration {
	if d.ExportInterval <= 0 {
		return time.Minute
	}
	return d.ExportInterval
}

// exportBatch is how many exports one claim takes.
const exportBatch = 20

// WriteExports writes queued exports in batches until none is due or ctx
// ends; a failed export is queued again with backoff by the service.
func WriteExports(ctx context.Context, deps Deps) error {
	total := 0
	for ctx.Err() == nil {
		n, err := deps.Exports.WriteQueued(ctx, system, exportBatch)
		total += n
		if err != nil {
			return fmt.Errorf("billing exports: %w", err)
		}
		if n < exportBatch {
			break
		}
	}
	if total > 0 {
		deps.logger().InfoContext(ctx, "billing exports written", "runs", total)
	}
	return nil
}
