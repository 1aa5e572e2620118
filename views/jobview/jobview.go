// Package jobview shows a background job while it runs: its kind, state,
// progress and what it is doing, in a fragment that htmx polls every
// second. Each page answers the poll with its own region, and stops
// including the fragment once the job is done, which ends the polling.
package jobview

import (
	"math"

	"github.com/truecost/truecost/domain/background"
)

// View is a running (or queued) job and where its poll goes.
type View struct {
	ID, Kind    string
	State       string // queued, running
	StateLabel  string
	HasProgress bool
	Percent     int
	Message     string
	// PollURL answers the region Target (swapped with Swap) as it stands.
	PollURL, Target, Swap string
}

// New returns the view of j, polled at pollURL into target with swap.
func New(j background.Job, pollURL, target, swap string) View {
	v := View{ID: j.ID, Kind: j.Kind.Label(), State: string(j.State), HasProgress: j.HasProgress, Message: j.Message,
		PollURL: pollURL, Target: target, Swap: swap}
	v.StateLabel = "Queued"
	if j.State == background.Running {
		v.StateLabel = "Running"
	}
	if j.HasProgress {
		v.Percent = int(math.Floor(j.Progress * 100))
	}
	return v
}
