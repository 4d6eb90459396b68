// Package gcpolicy is trawl's garbage-collection policy, set once for the
// program: a floor under the heap goal. With GOGC=100 the heap goal is
// twice the live heap, and trawl's live heap is small (3–4 MiB while
// fetching): the collector then ran every few hundred kilobytes of
// garbage, 340 cycles for 20,000 pages, a sixth of the CPU. With the
// floor, GOGC is raised while the live heap is small, so that the heap
// may grow to the floor before a cycle; once the live heap is past half
// the floor, GOGC is the default again and memory grows as without the
// policy.
//
// The policy is off when the user set GOGC or GOMEMLIMIT: theirs wins. A
// part of the program that wants fewer garbage for a while (an index
// built in memory) lowers GOGC with [Lower], which holds the floor off
// until it is restored.
//
// How: a cleanup ([runtime.AddCleanup]) on an object dropped at once runs
// after the next cycle; it reads the live heap ([runtime/metrics]), sets
// GOGC for the next cycle, and arms itself again. No goroutine of its
// own: cleanups run on the runtime's.
package gcpolicy

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"sync"
)

// DefaultFloor is the heap goal under which the collector does not
// start a cycle when the live heap is small.
const DefaultFloor = 12 << 20

// defaultPercent is GOGC when the user did not set it.
const defaultPercent = 100

// maxPercent bounds the GOGC the floor sets. GOGC is chosen from the
// live heap of the cycle before, so a heap that grows past the floor
// within one cycle keeps it until the adjustment after that cycle runs:
// its goal is then up to 1+maxPercent/100 times the new live heap (5x,
// against 2x at the default), not the 50x that a bound of 5000 allowed.
// trawl's live heap while fetching (3-4 MiB) needs about 250 to reach
// the floor; only the first cycles of a run, with under 2.4 MiB live,
// collect below it.
const maxPercent = 400

var state struct {
	mu      sync.Mutex
	floor   uint64 // 0: the policy is not on
	lowered []int  // the percentages of the Lower calls not yet restored
	percent int    // the GOGC set last
	gen     int    // the Start the armed cleanups belong to: a stopped policy's chain ends
	samples []metrics.Sample
}

// Start turns the policy on with a heap-goal floor of floor bytes,
// unless the environment sets GOGC or GOMEMLIMIT. It returns a function
// that turns it off again and restores GOGC; Start is meant to be
// called once, at the start of the program.
func Start(floor uint64) (stop func()) {
	if _, ok := os.LookupEnv("GOGC"); ok {
		return func() {}
	}
	if _, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		return func() {}
	}
	state.mu.Lock()
	defer state.mu.Unlock()
	if state.floor != 0 {
		return func() {}
	}
	state.floor = floor
	state.samples = []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/gc/scan/stack:bytes"},
		{Name: "/gc/scan/globals:bytes"},
	}
	state.percent = defaultPercent
	state.gen++
	adjustLocked()
	arm(state.gen)
	return func() {
		state.mu.Lock()
		defer state.mu.Unlock()
		state.floor = 0
		state.gen++
		if len(state.lowered) == 0 {
			debug.SetGCPercent(defaultPercent)
		}
	}
}

// arm runs afterCycle for the policy started as generation gen after
// the next cycle.
func arm(gen int) {
	runtime.AddCleanup(new([16]byte), afterCycle, gen)
}

// afterCycle adjusts GOGC after a cycle and arms itself again while the
// policy started as generation gen is on.
func afterCycle(gen int) {
	state.mu.Lock()
	defer state.mu.Unlock()
	if state.floor == 0 || gen != state.gen {
		return
	}
	adjustLocked()
	arm(gen)
	if afterCycleHook != nil {
		afterCycleHook()
	}
}

// afterCycleHook, when set (by tests), is called after each adjustment
// that follows a cycle.
var afterCycleHook func()

// adjustLocked sets GOGC for the floor and the live heap of the last
// cycle, or the lowest of the [Lower] calls not restored.
func adjustLocked() {
	p := defaultPercent
	if len(state.lowered) > 0 {
		p = slices.Min(state.lowered)
	} else if state.floor != 0 {
		p = floorPercentNow(state.floor, state.samples)
	}
	if p != state.percent {
		debug.SetGCPercent(p)
		state.percent = p
	}
}

// floorPercentNow is floorPercent for the live heap, stacks and globals
// of the last cycle.
func floorPercentNow(floor uint64, samples []metrics.Sample) int {
	metrics.Read(samples)
	var v [3]uint64
	for i, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			v[i] = s.Value.Uint64()
		}
	}
	return floorPercent(floor, v[0], v[0]+v[1]+v[2])
}

// floorPercent returns the GOGC whose heap goal is floor for a live heap
// of live bytes and scan bytes to scan (the live heap, stacks and
// globals: the goal is live + scan × GOGC/100), at least the default.
func floorPercent(floor, live, scan uint64) int {
	if live == 0 || live >= floor || scan == 0 {
		return defaultPercent
	}
	p := (floor - live) * 100 / scan
	return int(max(defaultPercent, min(p, maxPercent)))
}

// Lower sets GOGC to percent (or lower, while another Lower holds a
// lower one), the floor off, until restore is called, once. Without the
// policy on, it sets GOGC and restore sets it back.
func Lower(percent int) (restore func()) {
	state.mu.Lock()
	defer state.mu.Unlock()
	if state.floor == 0 && len(state.lowered) == 0 {
		prev := debug.SetGCPercent(percent)
		return func() { debug.SetGCPercent(prev) }
	}
	state.lowered = append(state.lowered, percent)
	adjustLocked()
	var once sync.Once
	return func() {
		once.Do(func() {
			state.mu.Lock()
			defer state.mu.Unlock()
			if i := slices.Index(state.lowered, percent); i >= 0 {
				state.lowered = slices.Delete(state.lowered, i, i+1)
			}
			adjustLocked()
		})
	}
}
