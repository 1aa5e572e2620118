//go:build race

package awsbilling_test

// raceEnabled is true when the race detector runs, which makes streaming
// a large file too slow to be worth it.
const raceEnabled = true
