package server

import (
	"runtime"
	"testing"
	"time"
)

func TestFloorPercent(t *testing.T) {
	const mb = 1 << 20
	for _, c := range []struct {
		live  uint64
		floor uint64
		want  int
	}{
		// Go's own floor (4 MB × percent/100) caps the percent at 1600
		// for a 64 MB floor, which then sets the goal.
		{0, 64 * mb, 1600},
		{1 * mb, 64 * mb, 1600},
		{3 * mb, 64 * mb, 1600},
		// Above 64/17 MB the live heap sets the goal at the floor.
		{8 * mb, 64 * mb, 700},
		{10 * mb, 64 * mb, 540},
		// Past floor/5 the base percent already puts the goal higher.
		{13 * mb, 64 * mb, 400},
		{200 * mb, 64 * mb, 400},
		// A floor below Go's own at the base percent changes nothing.
		{1 * mb, 8 * mb, 400},
	} {
		if got := floorPercent(c.live, 400, c.floor); got != c.want {
			t.Errorf("floorPercent(%d MB, 400, %d MB) = %d, want %d", c.live/mb, c.floor/mb, got, c.want)
		}
		if p := floorPercent(c.live, 400, c.floor); p > 400 && c.live > 0 {
			if goal := max(c.live*uint64(100+p)/100, goHeapMinimum*uint64(p)/100); goal > c.floor+c.floor/50 {
				t.Errorf("live %d MB: percent %d puts the goal at %d MB, above the %d MB floor", c.live/mb, p, goal/mb, c.floor/mb)
			}
		}
	}
}

// TestGCFloorFollowsCollections checks that gcFloor sets the percent for
// the live heap after each collection, not once.
func TestGCFloorFollowsCollections(t *testing.T) {
	set := make(chan int, 16)
	// A floor far above this test's live heap, so the percent is raised.
	g := &gcFloor{base: 400, floor: 1 << 40, set: func(p int) int {
		select {
		case set <- p:
		default:
		}
		return 0
	}}
	defer g.stopped.Store(true)
	g.arm()
	for n := 0; n < 2; n++ {
		var got int
		deadline := time.After(10 * time.Second)
	wait:
		for {
			runtime.GC() // finalizers run after a collection, on their own goroutine
			select {
			case got = <-set:
				break wait
			case <-deadline:
				t.Fatalf("collection %d: gcFloor set no percent within 10s", n+1)
			case <-time.After(20 * time.Millisecond):
			}
		}
		if want := floorPercent(1, 400, 1<<40); got < 400 || got > want {
			t.Errorf("collection %d: percent %d, want above 400 and at most %d", n+1, got, want)
		}
	}
}
