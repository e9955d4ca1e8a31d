//go:build race

package fleet_test

// raceEnabled is set when the race detector is on: the simulations then
// run fewer tenants, since every run is several times slower.
const raceEnabled = true
