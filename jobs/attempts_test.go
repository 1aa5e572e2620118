package jobs_test

import (
	"context"
	"testing"

	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/jobs"
)

type pruner struct{ callers []tenancy.Principal }

func (p *pruner) PruneAttempts(_ context.Context, caller tenancy.Principal) error {
	p.callers = append(p.callers, caller)
	return nil
}

func TestPruneLoginAttemptsActsAsTheSystem(t *testing.T) {
	t.Parallel()
	p := &pruner{}
	if err := jobs.PruneLoginAttempts(context.Background(), jobs.Deps{Attempts: p}); err != nil {
		t.Fatal(err)
	}
	if len(p.callers) != 1 || !p.callers[0].IsSystem() {
		t.Errorf("callers = %v, want the system once", p.callers)
	}
}
