//go:build race

package align

// raceEnabled reports a build with the race detector, whose instrumentation
// inflates allocations, so allocation budgets do not apply.
const raceEnabled = true
