package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
)

// ConnectorSyncer syncs every enabled connector not synced within interval;
// *connectors.Service implements it.
type ConnectorSyncer interface {
	SyncAll(ctx context.Context, caller tenancy.Principal, interval time.Duration) (connectors.SyncReport, error)
}

func (d Deps) syncInterval() time.Duration {
	if d.SyncInterval <= 0 {
		return time.Hour
	}
	return d.SyncInterval
}

// ConnectorSync runs one pass over the billing connectors and logs how many
// loaded new data, were unchanged, or failed (each failure is recorded on
// its connector).
func ConnectorSync(ctx context.Context, deps Deps) error {
	rep, err := deps.Connectors.SyncAll(ctx, system, deps.syncInterval())
	if err != nil {
		return fmt.Errorf("connector sync: %w", err)
	}
	deps.logger().InfoContext(ctx, "connector sync done", "synced", rep.Synced, "unchanged", rep.Unchanged, "failed", rep.Failed)
	return nil
}
