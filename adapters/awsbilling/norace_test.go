//go:build !race

package awsbilling_test

const raceEnabled = false
