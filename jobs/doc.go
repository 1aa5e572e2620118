// Package jobs is the driver that runs Truecost's background work on a
// schedule: a gocron scheduler started by `truecost serve`, and the jobs it
// runs.
//
// Each job is a plain function of (ctx, Deps), so tests and the command line
// can call it directly; the Scheduler only wires it to a timer, names it,
// keeps it to one run at a time, bounds each run with a timeout and logs the
// outcome. Jobs reach the rest of the system only through domain ports held
// in Deps; main.go hands in the adapters.
//
// Several `truecost serve` replicas may share one database. Jobs fire on
// wall-clock slots (an hourly job at every full hour), and before each run a
// replica claims the (job, slot) pair through the SlotLocks port: only the
// first claimant runs, so each job runs once per slot however many replicas
// there are.
package jobs
