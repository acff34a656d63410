package server

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// A Signet server tunes the Go runtime of its process once, at its first
// Start: the collector (tuneGC) and the number of Ps (tuneProcs). Each step
// leaves alone what an operator set in the environment.

// serverGCPercent is the GC percent a Signet server runs with unless GOGC
// is set: nearly every allocation is per request and dies with it, so
// Go's default of 100 collects many times a second under load. With 400,
// `go run ./bench/keyvault` went from 0.49 to 0.53 of its baseline's
// requests/s and its p99 from 2.99 to 1.56 times the baseline's
// (2026-11-26, one run each). The price is a heap up to five times the
// live one.
const serverGCPercent = 400

// heapFloor is the smallest heap goal a Signet server collects at unless
// GOGC is set. Its live heap is small (caches of tokens, grants and sealed
// records: 2–3 MB under the Key Vault benchmark), and Go's own floor, 4 MB
// times GOGC/100, put the goal at 16 MB: a collection every 100–200 ms
// under a read load, each marking for 2–3 ms on a core the requests
// needed. Those 2–3% of the time were the p99: `go run ./bench/keyvault
// -rounds 4` with GOGC=1600, which puts Go's floor here, gave a paced p99
// of 1.64–1.70 times the baseline's where the same binary gave 1.89–2.17
// (2026-11-26); with gcFloor, -rounds 5 gave 1.50–1.73 (median 1.59). A
// fixed GOGC=1600 would also let a large live heap grow seventeenfold;
// gcFloor raises the percent only while the live heap is small. The price
// is up to 64 MB of heap: the 1 GiB blob round trip's resident growth went
// from 10 to 15 MiB.
const heapFloor = 64 << 20

// goHeapMinimum is the Go runtime's own floor on the heap goal at GOGC=100;
// it scales with the percent (runtime/mgcpacer.go).
const goHeapMinimum = 4 << 20

var tuneGCOnce sync.Once

// tuneGC sets serverGCPercent and keeps the heap goal at or above
// heapFloor, once per process, unless GOGC is set.
func tuneGC() {
	tuneGCOnce.Do(func() {
		if _, set := os.LookupEnv("GOGC"); set {
			return
		}
		debug.SetGCPercent(serverGCPercent)
		g := &gcFloor{base: serverGCPercent, floor: heapFloor, set: debug.SetGCPercent}
		g.adjust()
		g.arm()
	})
}

// gcFloor keeps the heap goal at max(live × (1 + base/100), floor): after
// every collection it sets the GC percent for the live heap that
// collection left.
type gcFloor struct {
	base    int
	floor   uint64
	set     func(percent int) int // debug.SetGCPercent; tests watch it
	stopped atomic.Bool           // tests end the chain of finalizers
}

// gcCycle is allocated and dropped at once: its finalizer runs after the
// next collection. (It holds a pointer, so the runtime does not pack it
// with other tiny objects, whose finalizers may never run.)
type gcCycle struct{ _ *byte }

func (g *gcFloor) arm() {
	runtime.SetFinalizer(&gcCycle{}, func(*gcCycle) {
		if g.stopped.Load() {
			return
		}
		g.adjust()
		g.arm()
	})
}

func (g *gcFloor) adjust() {
	s := [1]metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s[:])
	if s[0].Value.Kind() != metrics.KindUint64 {
		return // not reported by this runtime: leave the base percent
	}
	g.set(floorPercent(s[0].Value.Uint64(), g.base, g.floor))
}

// floorPercent is the GC percent that puts the heap goal for a live heap
// of live bytes at max(live × (1 + base/100), floor). It is at most
// floor/goHeapMinimum × 100: past that the runtime's own floor alone would
// put the goal above floor.
func floorPercent(live uint64, base int, floor uint64) int {
	p := int(floor / goHeapMinimum * 100)
	if live > 0 {
		p = min(p, int(floor*100/live)-100)
	}
	return max(base, p)
}

// spareProcs is how many more Ps than Go's default a Signet server runs
// with unless GOMAXPROCS is set. The audit writer commits in bursts of CPU
// (hashing, encoding and SQLite, all Go code) that hold a P for up to about
// a millisecond, and requests queued on that P wait for the whole burst.
// With a spare P they run on another, and the kernel shares the cores at a
// finer grain. On 2 cores, `go run ./bench/keyvault -rounds 3` gave a
// saturated Signet p99 of 10.4–11.1 ms, against 16.3–18.5 ms run with
// GOMAXPROCS=2 (1.34–1.57 against 1.90–2.20 times the baseline's), for 0.60
// against 0.62 of the baseline's requests/s: each request costs about 8%
// more CPU in switches (2026-11-26). bench/tokenmint, bound by RSA, did not
// move (0.77 of its ceiling).
const spareProcs = 1

var tuneProcsOnce sync.Once

// tuneProcs adds spareProcs once per process, leaving an operator's
// GOMAXPROCS alone. Setting it ends Go's tracking of a container's CPU
// limit; the limit found at start stays the base.
func tuneProcs() {
	tuneProcsOnce.Do(func() {
		if _, set := os.LookupEnv("GOMAXPROCS"); !set {
			runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + spareProcs)
		}
	})
}
