package gcpolicy

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

// gogc returns the GOGC in effect.
func gogc(t *testing.T) int {
	t.Helper()
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Fatal("no /gc/gogc:percent metric")
	}
	return int(s[0].Value.Uint64())
}

// unsetEnv removes the variables for the test, restoring them after.
func unsetEnv(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		t.Setenv(n, "")
		os.Unsetenv(n)
	}
}

// collect runs a cycle and waits until the policy has adjusted after it.
func collect(t *testing.T) {
	t.Helper()
	done := make(chan struct{}, 1)
	state.mu.Lock()
	afterCycleHook = func() {
		select {
		case done <- struct{}{}:
		default:
		}
	}
	state.mu.Unlock()
	defer func() {
		state.mu.Lock()
		afterCycleHook = nil
		state.mu.Unlock()
	}()
	runtime.GC()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("no adjustment after a GC cycle")
	}
}

func TestFloorPercent(t *testing.T) {
	for _, tt := range []struct {
		floor, live, scan uint64
		want              int
	}{
		{16 << 20, 4 << 20, 4 << 20, 300},   // goal 4 + 4×3 = 16
		{16 << 20, 3 << 20, 4 << 20, 325},   // stacks and globals count
		{16 << 20, 12 << 20, 12 << 20, 100}, // past half the floor: the default
		{16 << 20, 20 << 20, 20 << 20, 100}, // past the floor
		{16 << 20, 1 << 10, 1 << 10, 400},   // bounded: a heap that jumps within a cycle gets a goal of at most 5x
		{16 << 20, 0, 0, 100},               // no cycle yet
	} {
		if got := floorPercent(tt.floor, tt.live, tt.scan); got != tt.want {
			t.Errorf("floorPercent(%d, %d, %d) = %d, want %d", tt.floor, tt.live, tt.scan, got, tt.want)
		}
	}
}

// TestStartRaisesGOGC: with the policy on and a live heap far under the
// floor, GOGC is raised after a cycle; Lower holds it at
// its percentage meanwhile, and the floor is back after; stop restores
// the default.
func TestStartRaisesGOGC(t *testing.T) {
	unsetEnv(t, "GOGC", "GOMEMLIMIT")
	defer debug.SetGCPercent(debug.SetGCPercent(defaultPercent))
	stop := Start(256 << 20)
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()
	collect(t)
	if p := gogc(t); p <= defaultPercent {
		t.Fatalf("GOGC %d after a cycle, want more than %d for a heap far under the floor", p, defaultPercent)
	}
	restore := Lower(15)
	restore2 := Lower(40)
	if p := gogc(t); p != 15 {
		t.Fatalf("GOGC %d under Lower(15) and Lower(40), want 15", p)
	}
	collect(t)
	if p := gogc(t); p != 15 {
		t.Fatalf("GOGC %d under Lower(15) after a cycle, want 15", p)
	}
	restore()
	if p := gogc(t); p != 40 {
		t.Fatalf("GOGC %d under Lower(40) alone, want 40", p)
	}
	restore2()
	if p := gogc(t); p <= defaultPercent {
		t.Fatalf("GOGC %d once Lower is restored, want more than %d", p, defaultPercent)
	}
	stop()
	stopped = true
	if p := gogc(t); p != defaultPercent {
		t.Fatalf("GOGC %d after stop, want %d", p, defaultPercent)
	}
}

// TestStartLeavesUsersSetting: GOGC or GOMEMLIMIT in the environment
// turns the policy off; Lower then sets GOGC and restores it.
func TestStartLeavesUsersSetting(t *testing.T) {
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(env, func(t *testing.T) {
			unsetEnv(t, "GOGC", "GOMEMLIMIT")
			t.Setenv(env, map[string]string{"GOGC": "80", "GOMEMLIMIT": "1GiB"}[env])
			defer debug.SetGCPercent(debug.SetGCPercent(80))
			stop := Start(256 << 20)
			defer stop()
			if p := gogc(t); p != 80 {
				t.Fatalf("GOGC %d after Start, want the 80 set before", p)
			}
			restore := Lower(15)
			if p := gogc(t); p != 15 {
				t.Fatalf("GOGC %d under Lower(15), want 15", p)
			}
			restore()
			if p := gogc(t); p != 80 {
				t.Fatalf("GOGC %d after restore, want 80", p)
			}
		})
	}
}

// TestStoppedChainEnds: the cleanup armed by a policy that was stopped
// (and started again) neither adjusts GOGC nor arms itself again, so
// Start after stop leaves one chain of adjustments, not one per Start.
func TestStoppedChainEnds(t *testing.T) {
	unsetEnv(t, "GOGC", "GOMEMLIMIT")
	defer debug.SetGCPercent(debug.SetGCPercent(defaultPercent))
	Start(256 << 20)()
	stop := Start(256 << 20)
	defer stop()
	calls := 0
	state.mu.Lock()
	stale, current := state.gen-2, state.gen
	afterCycleHook = func() { calls++ }
	state.mu.Unlock()
	defer func() {
		state.mu.Lock()
		afterCycleHook = nil
		state.mu.Unlock()
	}()
	afterCycle(stale)
	if calls != 0 {
		t.Fatalf("the cleanup of a stopped policy adjusted GOGC (%d calls)", calls)
	}
	afterCycle(current)
	if calls != 1 {
		t.Fatalf("the cleanup of the running policy made %d adjustments, want 1", calls)
	}
}

// TestRestoreTwice: a restore called twice takes back its own Lower
// only, once, and does not panic.
func TestRestoreTwice(t *testing.T) {
	unsetEnv(t, "GOGC", "GOMEMLIMIT")
	defer debug.SetGCPercent(debug.SetGCPercent(defaultPercent))
	stop := Start(256 << 20)
	defer stop()
	r1 := Lower(15)
	r2 := Lower(15)
	r1()
	r1()
	if p := gogc(t); p != 15 {
		t.Fatalf("GOGC %d with one Lower(15) not restored, want 15", p)
	}
	r2()
	if p := gogc(t); p == 15 {
		t.Fatalf("GOGC still 15 once every Lower is restored")
	}
}
