package applets

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"grenache/bep44"
	"grenache/grape"
)

var putApplet = &applet{
	name:      "put",
	usage:     "store a value in the DHT and print its hash",
	argsUsage: "VALUE... | - | --file PATH | --batch",
	about: "Stores VALUE (the operands joined by single spaces, or standard input byte for byte\n" +
		"when the only operand is -) and prints the 40-hex hash to read it back with.\n" +
		"An immutable item's hash is the SHA-1 of its value. A mutable item (--mutable) is signed\n" +
		"with your key pair and its hash depends only on your public key and the salt, so a\n" +
		"new value under the same key and salt replaces the old one for its readers.\n" +
		"A value is up to 999 bytes, or 1000 when some of its characters take several bytes\n" +
		"(a grape stores at most 1000 bytes and fewer than 1000 characters); it may be empty.\n" +
		"A salt is 1 to 64 bytes.\n" +
		"A mutable item's default seq is the time in microseconds, or one more than the highest\n" +
		"seq known for its hash if that is higher: known from $XDG_STATE_HOME/grenache/seq, and\n" +
		"with --seq-from-grape (or --cas auto) from the grape's stored item, read first.\n" +
		"--cas auto reads the stored item and replaces it only if it is still that one (exit 5\n" +
		"if another writer came between); with none stored, the item is stored.\n\n" +
		"With --batch, each line of standard input is one item, as JSON: a string (the value)\n" +
		"or an object {\"v\": VALUE, \"salt\": SALT, \"seq\": N, \"cas\": N}; fields left out take\n" +
		"the options' values. Each item gets one JSON line on standard output, in input order:\n" +
		"{\"hash\": ...} or {\"error\": ..., \"exit\": CODE}; the exit code is the highest of the items'.",
	flags: func() []cli.Flag {
		return append(append(itemFlags(),
			&cli.BoolFlag{Name: "mutable", Aliases: []string{"m"}, Usage: "store a mutable item signed with your key pair"},
			&cli.StringFlag{Name: "salt", Aliases: []string{"s"}, Usage: "store the mutable item under `SALT` (1 to 64 bytes)"},
			&cli.StringFlag{Name: "number", Aliases: []string{"n"}, Usage: "sequence number `SEQ` of the mutable item (default: the time in microseconds, or the highest seq known + 1)"},
			&cli.StringFlag{Name: "cas", Aliases: []string{"c"}, Usage: "replace the stored item only if its seq is `N` (compare and swap), or with auto the seq read from the grape first; with none stored yet, store anyway"},
			keyNameFlag(),
		), append(batchFlags(), putExtraFlags()...)...)
	},
	run: runPut,
}

// putSpec is what to store, before it is signed.
type putSpec struct {
	v       []byte
	mutable bool
	salt    []byte // nil: no salt
	seq     *int64 // nil: the clock's
	cas     *int64
	// casAuto: --cas auto, cas is the seq of the item read first. seqFromGrape:
	// read the item first for the default seq. dryRun: send nothing.
	casAuto, seqFromGrape, dryRun bool
}

func runPut(r *runCtx) error {
	spec, err := r.putOptions()
	if err != nil {
		return err
	}
	if r.Bool(flagBatch) {
		return r.putBatch(spec)
	}
	if r.IsSet(flagFile) {
		spec.v, err = readValueFile(r)
	} else {
		spec.v, err = readValue(r)
	}
	if err != nil {
		return err
	}
	gc, err := r.grapeOptions()
	if err != nil {
		return err
	}
	defer gc.close()
	var signer bep44.Signer
	if spec.mutable {
		if signer, err = r.signer(); err != nil {
			return err
		}
	}
	ctx, cancel := gc.context(context.Background())
	defer cancel()
	f, _ := r.freshness() // put has no --min-seq: no error
	explicitSeq := spec.seq != nil
	it, err := r.putItem(ctx, gc.transport, gc.explain, &spec, signer, f)
	if err != nil {
		return err
	}
	if err := gc.checkItem(it, spec.cas); err != nil {
		return err
	}
	if spec.dryRun {
		return r.printPut(it)
	}
	if _, err := grape.Store(ctx, gc.transport, it, spec.cas); err != nil {
		return putError(&spec, explicitSeq, gc.explain(err))
	}
	err = r.printPut(it)
	f.stored(it)
	f.save()
	return err
}

// putOptions reads -m, -s, -n and -c: the defaults of every item to store.
func (r *runCtx) putOptions() (putSpec, error) {
	spec := putSpec{mutable: r.Bool("mutable")}
	if !spec.mutable {
		if err := r.keyNameOnlyMutable(); err != nil {
			return spec, err
		}
		for _, name := range []string{"salt", "number", "cas"} {
			if r.IsSet(name) {
				return spec, usagef("--%s applies to mutable items only: add --mutable", name)
			}
		}
		return spec, r.putExtras(&spec)
	}
	var err error
	if spec.salt, err = r.saltOption(); err != nil {
		return spec, err
	}
	if r.IsSet("number") {
		if spec.seq, err = numberPtr(r.String("number"), "sequence number"); err != nil {
			return spec, err
		}
	}
	switch {
	case !r.IsSet("cas"):
	case r.String("cas") == casAuto:
		spec.casAuto = true
	default:
		if spec.cas, err = numberPtr(r.String("cas"), "--cas"); err != nil {
			return spec, err
		}
	}
	return spec, r.putExtras(&spec)
}

func numberPtr(s, what string) (*int64, error) {
	n, err := parseNumber(s, what)
	if err != nil {
		return nil, err
	}
	return &n, nil
}

// readValueFrom reads a value from rd, what it is called in messages. It reads
// one byte past the limit to tell "too large" without reading all of a huge (or
// endless) input, whose size is then unknown.
func readValueFrom(rd io.Reader, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(rd, bep44.MaxNodeValue+1))
	if err != nil {
		return nil, fmt.Errorf("reading the value from %s: %w", what, err)
	}
	if len(b) > bep44.MaxNodeValue {
		return nil, usagef("%v: %s holds more than %d bytes, a grape stores at most %d",
			bep44.ErrValueTooLarge, what, bep44.MaxNodeValue, bep44.MaxNodeValue)
	}
	return b, checkValue(b)
}

// readValue gets the value from the operands, or from standard input for a lone "-".
func readValue(r *runCtx) ([]byte, error) {
	args := r.Args().Slice()
	var v []byte
	switch {
	case len(args) == 0:
		return nil, withCode(ExitUsage, fmt.Errorf("no value given"),
			fmt.Sprintf("'%s VALUE...' stores the words given; '%s -' reads the value from standard input", r.prog, r.prog))
	case len(args) == 1 && args[0] == "-":
		return readValueFrom(r.stdin, "standard input")
	default:
		v = []byte(strings.Join(args, " "))
	}
	return v, checkValue(v)
}

// checkValue refuses, before anything is sent, a value the grape would refuse or change
// (grape.CheckValue; the limits are listed in bep44/limits.go).
func checkValue(v []byte) error {
	if err := grape.CheckValue(v); err != nil {
		return usagef("%v", err)
	}
	return nil
}

// checkSalt accepts 1..64 bytes that the grape carries intact.
func checkSalt(s string) ([]byte, error) {
	salt := []byte(s)
	if len(salt) == 0 {
		return nil, usagef("the salt is empty: give 1 to 64 bytes, or no salt at all")
	}
	if err := bep44.CheckSalt(salt); err != nil {
		return nil, usagef("%v", err)
	}
	if err := grape.CheckSalt(salt); err != nil {
		return nil, usagef("%v", err)
	}
	return salt, nil
}

// saltOption reads --salt: absent is nil.
func (r *runCtx) saltOption() ([]byte, error) {
	if !r.IsSet("salt") {
		return nil, nil
	}
	return checkSalt(r.String("salt"))
}

// clock gives default sequence numbers: the time in microseconds, as the
// original tool did, but never the same number twice in one run.
type clock struct {
	now  func() time.Time
	last int64
	per  map[bep44.Target]int64 // the last seq given to each target
}

func newClock(now func() time.Time) *clock { return &clock{now: now} }

func (c *clock) next() int64 {
	n := c.now().UnixMicro()
	if n <= c.last {
		n = c.last + 1
	}
	c.last = n
	return n
}

// item builds the item to store: immutable, or mutable and signed by signer.
func (p *putSpec) item(signer bep44.Signer, c *clock) (*bep44.Item, error) {
	if !p.mutable {
		it, err := bep44.NewImmutable(p.v)
		if err != nil {
			return nil, usagef("%v", err)
		}
		return it, nil
	}
	seq := int64(0)
	if p.seq != nil {
		seq = *p.seq
	} else {
		seq = c.next()
	}
	it, err := bep44.NewMutable(signer, p.salt, seq, p.v)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return it, nil
}

// signer loads the user's key pair: grenache's own, else the original tool's.
func (r *runCtx) signer() (bep44.Signer, error) {
	store, err := r.keyStore()
	if err != nil {
		return nil, err
	}
	pair, err := store.Load()
	if err != nil {
		return nil, keyLoadError(store, err)
	}
	if pair.Legacy {
		r.warnf("signing with the original grenache-cli key pair in %s", pair.Path)
	}
	if pair.Legacy && store.Name == "" {
		r.hintf("'grenache-keygen --import' copies it to %s, where grenache keeps its own", store.Path())
	}
	s, err := bep44.NewSigner(pair.Private)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pair.Path, err)
	}
	if !bytes.Equal(s.PublicKey(), pair.Public) {
		return nil, fmt.Errorf("%s: the public key does not belong to the private key", pair.Path)
	}
	return s, nil
}
