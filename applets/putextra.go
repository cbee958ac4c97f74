package applets

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"grenache/bep44"
	"grenache/grape"
)

const (
	flagJSON         = "json"
	flagDryRun       = "dry-run"
	flagFile         = "file"
	flagSeqFromGrape = "seq-from-grape"
	casAuto          = "auto"
)

// putExtraFlags are put's options for scripts: machine-readable output, a dry
// run, a value from a file, and sequence numbers read from the grape.
func putExtraFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: flagJSON, Usage: "print what was stored as one JSON object: hash, and for a mutable item k, salt, seq"},
		&cli.BoolFlag{Name: flagDryRun, Usage: "check and sign the item and print its hash, but send nothing and remember nothing"},
		&cli.StringFlag{Name: flagFile, Usage: "read the value from `PATH` (a file, a FIFO, /dev/stdin) instead of the operands"},
		&cli.BoolFlag{Name: flagSeqFromGrape, Usage: "read the stored item's seq from the grape first, so that the default seq is above it"},
	}
}

// clockNow is the clock of default sequence numbers. Tests replace it (in the
// test binary only, see clock_hook_test.go).
var clockNow = time.Now

// putExtras reads --cas auto, --seq-from-grape, --dry-run and --file, after
// putOptions, and refuses the combinations that mean nothing.
func (r *runCtx) putExtras(spec *putSpec) error {
	spec.seqFromGrape = r.Bool(flagSeqFromGrape)
	spec.dryRun = r.Bool(flagDryRun)
	if spec.seqFromGrape && !spec.mutable {
		return usagef("--%s applies to mutable items only: add --mutable", flagSeqFromGrape)
	}
	if spec.dryRun && (spec.casAuto || spec.seqFromGrape) {
		return usagef("--dry-run sends nothing, and --cas auto and --%s read the item from the grape", flagSeqFromGrape)
	}
	if r.Bool(flagBatch) {
		switch {
		case r.IsSet(flagFile):
			return usagef("--batch reads the items from standard input: give the file as standard input (< %s), not --file", r.String(flagFile))
		case spec.casAuto:
			return usagef("--cas auto reads one item: a batch line's cas is a number (get --batch reads the seqs)")
		case spec.seqFromGrape:
			return usagef("--%s reads one item: not with --batch", flagSeqFromGrape)
		}
	}
	return nil
}

// readValueFile reads the value from --file PATH: the same limits and messages
// as standard input. The file not opening is invalid input (exit 2).
func readValueFile(r *runCtx) ([]byte, error) {
	path := r.String(flagFile)
	if r.NArg() > 0 {
		return nil, usagef("--file %s gives the value: no operands (got %q)", path, r.Args().First())
	}
	if path == "" {
		return nil, usagef("--file is empty: give the path of the file that holds the value")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("cannot read the value: %v", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, usagef("cannot read the value: %s is a folder", path)
	}
	return readValueFrom(f, path)
}

// seqFor gives target a default sequence number: the time in microseconds,
// but above floor (the highest seq known for target, plus one) and above any
// seq this run gave target already.
func (c *clock) seqFor(target bep44.Target, floor int64) int64 {
	n := max(c.next(), floor)
	if p, ok := c.per[target]; ok {
		n = max(n, p+1)
	}
	if c.per == nil {
		c.per = map[bep44.Target]int64{}
	}
	c.per[target] = n
	return n
}

// defaultSeq sets spec.seq, when -n did not, to the next sequence number for
// target: max(now in microseconds, highest seq known + 1), known from the
// state folder and from current, the grape's item (nil: none or not read).
func (f *fresh) defaultSeq(spec *putSpec, c *clock, target bep44.Target, current *bep44.Item) error {
	if !spec.mutable || spec.seq != nil {
		return nil
	}
	floor := int64(0)
	known, from := int64(-1), ""
	if n, ok := f.lastSeen(target); ok {
		known, from = n, "the highest seq seen"
	}
	if current != nil && current.Seq > known {
		known, from = current.Seq, "the grape's seq"
	}
	if known >= 0 {
		if known >= bep44.MaxSeq {
			return withCode(ExitConflict, fmt.Errorf("%s for %s is %d, the largest a grape carries: no newer item can be stored", from, target, known),
				"store under another salt, or give -n explicitly")
		}
		floor = known + 1
	}
	n := c.seqFor(target, floor)
	spec.seq = &n
	return nil
}

// readCurrent gets the item stored under target, verified, for --cas auto and
// --seq-from-grape: nil when the grape holds none.
func readCurrent(ctx context.Context, t grape.Transport, target bep44.Target, salt []byte) (*bep44.Item, error) {
	ans, err := grape.Fetch(ctx, t, target, salt)
	if errors.Is(err, grape.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &ans.Item, nil
}

// putItem builds the item runPut stores: with --cas auto or --seq-from-grape,
// after reading the current item from the grape; --cas auto then sets cas to
// its seq (nothing stored yet: no cas, as the grape stores a new item whatever
// cas says).
func (r *runCtx) putItem(ctx context.Context, t grape.Transport, explain func(error) error, spec *putSpec, signer bep44.Signer, f *fresh) (*bep44.Item, error) {
	c := newClock(clockNow)
	if !spec.mutable {
		return spec.item(signer, c)
	}
	target := bep44.MutableTarget(signer.PublicKey(), spec.salt)
	var current *bep44.Item
	if spec.casAuto || spec.seqFromGrape {
		var err error
		if current, err = readCurrent(ctx, t, target, spec.salt); err != nil {
			return nil, withHints(explain(err), "put read the stored item first (--cas auto, --"+flagSeqFromGrape+") and could not")
		}
		if spec.casAuto && current != nil {
			cas := current.Seq
			spec.cas = &cas
		}
	}
	if err := f.defaultSeq(spec, c, target, current); err != nil {
		return nil, err
	}
	return spec.item(signer, c)
}

// putError adds the hints of put's own options to a failed store.
func putError(spec *putSpec, explicitSeq bool, err error) error {
	switch {
	case spec.casAuto && errors.Is(err, bep44.ErrCASMismatch):
		return withHints(err, "another writer stored a new version between put's read and its write: run it again")
	case !explicitSeq && !spec.seqFromGrape && errors.Is(err, bep44.ErrSeqTooLow):
		return withHints(err, "another host stored a higher seq than this one knows: --"+flagSeqFromGrape+" reads it first")
	}
	return err
}

// putJSON is put --json's output.
type putJSON struct {
	Hash string `json:"hash"`
	K    string `json:"k,omitempty"`
	Salt string `json:"salt,omitempty"`
	Seq  *int64 `json:"seq,omitempty"`
}

// printPut prints what was stored: its hash, or with --json the object.
func (r *runCtx) printPut(it *bep44.Item) error {
	target := it.Target().String()
	if !r.Bool(flagJSON) {
		_, err := fmt.Fprintln(r.stdout, target)
		return err
	}
	out := putJSON{Hash: target}
	if it.Mutable() {
		out.K, out.Salt, out.Seq = hex.EncodeToString(it.K), string(it.Salt), &it.Seq
	}
	return writeJSON(r.stdout, out)
}

// writeJSON writes v as one line of JSON, with <, > and & as they are.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
