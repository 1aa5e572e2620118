package jobs

import "github.com/truecost/truecost/domain/tenancy"

// system is the caller every job acts as: jobs work across organizations on
// no user's behalf.
var system = tenancy.SystemPrincipal("jobs")
