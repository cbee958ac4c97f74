package applets

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/urfave/cli/v2"

	"grenache/applets/state"
	"grenache/bep44"
)

// Freshness: grenache never prints an older version of a mutable item as the
// current one. A grape, or anything between, can replay an older item that is
// validly signed; only the sequence number tells. So grenache remembers, per
// mutable item, the highest seq this user has seen or stored (in the state
// folder, package state), and get refuses a lower one: exit 4, nothing printed.
// After every grape restarted, a lower seq is legitimate: --accept-lower-seq.
// The state is never worth a value: when it cannot be read or written, one
// warning says so and the value is still printed.

const (
	flagMinSeq         = "min-seq"
	flagAcceptLowerSeq = "accept-lower-seq"
)

func freshFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagMinSeq, Usage: "refuse a mutable item whose sequence number is below `N` (exit 4)"},
		&cli.BoolFlag{Name: flagAcceptLowerSeq, Usage: "accept a mutable item older than the newest seen (legitimate after every grape restarted) and remember its seq"},
	}
}

// fresh applies the freshness rule for one run of get or put. Its methods may
// be called from the workers of a batch.
type fresh struct {
	r      *runCtx
	minSeq int64 // -1: no --min-seq
	accept bool
	batch  bool // read the whole state once and write it once, at the end

	open    sync.Once
	store   *state.Store // nil: no state folder
	noDir   error
	warnIO  sync.Once
	warnBad sync.Once

	mu       sync.Mutex
	loaded   bool
	seen     map[bep44.Target]int64  // batch: the state as read at the first mutable item
	raise    map[bep44.Target]int64  // to remember: the highest seq per target
	set      map[bep44.Target]int64  // older versions accepted on purpose
	salts    map[bep44.Target][]byte // salted items stored: their hash's salt, to remember
	warnSalt sync.Once
}

// freshness reads --min-seq and --accept-lower-seq (put has neither).
func (r *runCtx) freshness() (*fresh, error) {
	f := &fresh{r: r, minSeq: -1, accept: r.Bool(flagAcceptLowerSeq), batch: r.Bool(flagBatch)}
	if r.IsSet(flagMinSeq) {
		n, err := parseNumber(r.String(flagMinSeq), "--min-seq")
		if err != nil {
			return nil, err
		}
		f.minSeq = n
	}
	return f, nil
}

// state opens the state folder the first time it is needed: never for an
// immutable item.
func (f *fresh) state() *state.Store {
	f.open.Do(func() {
		if f.r.dirs.state == "" {
			f.noDir = f.r.dirs.noState
			return
		}
		f.store = state.Open(f.r.dirs.state)
		f.store.Warn = func(msg string) {
			f.warnBad.Do(func() { f.r.warnf("%s", msg) })
		}
	})
	return f.store
}

// problem warns, once per run, that the state cannot be kept.
func (f *fresh) problem(err error) {
	f.warnIO.Do(func() { f.r.warnf("the sequence numbers seen are not remembered: %v", err) })
}

// lastSeen is the highest seq remembered for target.
func (f *fresh) lastSeen(target bep44.Target) (int64, bool) {
	s := f.state()
	if s == nil {
		f.problem(f.noDir)
		return 0, false
	}
	if !f.batch {
		n, ok, err := s.Seen(target)
		if err != nil {
			f.problem(err)
		}
		return n, ok
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.loaded {
		var err error
		if f.seen, err = s.Seqs(); err != nil {
			f.problem(err)
		}
		f.loaded = true
	}
	n, ok := f.seen[target]
	// An earlier answer in this batch counts as seen too.
	if r, rok := f.raise[target]; rok && (!ok || r > n) {
		n, ok = r, true
	}
	return n, ok
}

// check decides whether a verified answer may be printed as the current
// version of target. floor is the least seq acceptable for this item besides
// --min-seq (a batch line's "seq"), or -1. An immutable item has no versions:
// it always passes, and costs no state.
func (f *fresh) check(target bep44.Target, it *bep44.Item, floor int64, floorName string) error {
	if !it.Mutable() {
		return nil
	}
	if f.minSeq > floor {
		floor, floorName = f.minSeq, "--min-seq"
	}
	if it.Seq < floor {
		return withCode(ExitUnverified,
			fmt.Errorf("the grape answered seq %d for %s, older than %s %d", it.Seq, target, floorName, floor),
			"a grape, or something between, may be serving an old version: another grape may have the current one (-g, -p)")
	}
	seen, ok := f.lastSeen(target)
	lower := ok && it.Seq < seen
	if lower && !f.accept {
		where := "the seqs seen are kept"
		if s := f.state(); s != nil {
			where = "the seqs seen are in " + s.SeqPath()
		}
		return withCode(ExitUnverified,
			fmt.Errorf("the grape answered seq %d for %s, older than seq %d already seen", it.Seq, target, seen),
			"a grape, or something between, may be replaying an old version: another grape may have the current one (-g, -p)",
			fmt.Sprintf("if every grape restarted and lost the item, a lower seq is legitimate: --%s prints it and remembers seq %d (%s)",
				flagAcceptLowerSeq, it.Seq, where))
	}
	if lower {
		f.r.warnf("accepted seq %d for %s, older than seq %d seen before; remembering %d", it.Seq, target, seen, it.Seq)
	}
	if ok && !lower && it.Seq == seen {
		return nil // nothing to remember
	}
	f.note(target, it.Seq, lower)
	return nil
}

// note keeps seq to remember for target: merged by the highest, or, for an
// older version accepted on purpose, in place of the remembered one.
func (f *fresh) note(target bep44.Target, seq int64, lower bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := &f.raise
	if lower {
		m = &f.set
	}
	if *m == nil {
		*m = map[bep44.Target]int64{}
	}
	if old, ok := (*m)[target]; !ok || seq > old {
		(*m)[target] = seq
	}
}

// stored remembers the seq of an item the grape accepted from put.
func (f *fresh) stored(it *bep44.Item) {
	if !it.Mutable() {
		return
	}
	f.note(it.Target(), it.Seq, false)
	if len(it.Salt) > 0 {
		f.mu.Lock()
		if f.salts == nil {
			f.salts = map[bep44.Target][]byte{}
		}
		f.salts[it.Target()] = it.Salt
		f.mu.Unlock()
	}
}

// stateSaves counts the updates of the state file this process attempted, for
// the tests: a batch makes at most one, a get that saw nothing new none.
var stateSaves atomic.Int64

// save writes what was noted, in one update of the state file, after the
// values were printed. A failure is a warning.
func (f *fresh) save() {
	f.mu.Lock()
	raise, set, salts := f.raise, f.set, f.salts
	f.raise, f.set, f.salts = nil, nil, nil
	f.mu.Unlock()
	if len(raise) == 0 && len(set) == 0 && len(salts) == 0 {
		return
	}
	s := f.state()
	if s == nil {
		f.problem(f.noDir)
		return
	}
	if len(raise) > 0 || len(set) > 0 {
		stateSaves.Add(1)
		if err := s.Save(raise, set); err != nil {
			f.problem(err)
		}
	}
	f.saveSalts(salts)
}
