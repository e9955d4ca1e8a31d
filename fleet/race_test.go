//go:build race

package fleet_test

// raceEnabled is set when the race detector is on: the simulations of
// whole nights are then skipped, since every run is many times slower.
const raceEnabled = true
