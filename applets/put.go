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
	"grenache/keystore"
)

var putApplet = &applet{
	name:      "put",
	usage:     "store a value in the DHT and print its hash",
	argsUsage: "VALUE... | -",
	about: "Stores VALUE (the operands joined by single spaces, or standard input byte for byte\n" +
		"when the only operand is -) and prints the 40-hex hash to read it back with.\n" +
		"An immutable item's hash is the SHA-1 of its value. A mutable item (--mutable) is signed\n" +
		"with your key pair and its hash depends only on your public key and the salt, so a\n" +
		"new value under the same key and salt replaces the old one for its readers.\n" +
		"A value is at most 996 bytes; a salt 1 to 64 bytes.",
	flags: func() []cli.Flag {
		return append(grapeFlags(),
			&cli.BoolFlag{Name: "mutable", Aliases: []string{"m"}, Usage: "store a mutable item signed with your key pair"},
			&cli.StringFlag{Name: "salt", Aliases: []string{"s"}, Usage: "store the mutable item under `SALT` (1 to 64 bytes)"},
			&cli.StringFlag{Name: "number", Aliases: []string{"n"}, Usage: "sequence number `SEQ` of the mutable item (default: the time in microseconds)"},
			&cli.StringFlag{Name: "cas", Aliases: []string{"c"}, Usage: "store only if the stored item's sequence number is `N` (compare and swap)"},
		)
	},
	run: runPut,
}

func runPut(r *runCtx) error {
	v, err := readValue(r)
	if err != nil {
		return err
	}
	d, err := r.grapeOptions()
	if err != nil {
		return err
	}
	it, cas, err := r.buildItem(v, time.Now)
	if err != nil {
		return err
	}
	ctx, cancel := d.context(context.Background())
	defer cancel()
	target, err := grape.Store(ctx, d.transport, it, cas)
	if err != nil {
		return d.explain(err)
	}
	fmt.Fprintln(r.stdout, target)
	return nil
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
		// Read one byte past the limit to tell "too large" without reading all of a huge input.
		b, err := io.ReadAll(io.LimitReader(r.stdin, bep44.MaxValueSize+1))
		if err != nil {
			return nil, fmt.Errorf("reading the value from standard input: %w", err)
		}
		v = b
	default:
		v = []byte(strings.Join(args, " "))
	}
	if len(v) == 0 {
		return nil, usagef("the value is empty: a grape refuses to store an empty string")
	}
	if err := bep44.CheckValue(v); err != nil {
		return nil, usagef("%v", err)
	}
	if err := grape.CheckValue(v); err != nil {
		return nil, usagef("%v", err)
	}
	return v, nil
}

// saltOption reads --salt: absent is nil; given, it must be 1..64 bytes the grape carries intact.
func (r *runCtx) saltOption() ([]byte, error) {
	if !r.IsSet("salt") {
		return nil, nil
	}
	salt := []byte(r.String("salt"))
	if len(salt) == 0 {
		return nil, usagef("the salt is empty: give 1 to 64 bytes, or no --salt at all")
	}
	if err := bep44.CheckSalt(salt); err != nil {
		return nil, usagef("%v", err)
	}
	if err := grape.CheckSalt(salt); err != nil {
		return nil, usagef("%v", err)
	}
	return salt, nil
}

// buildItem makes the item to store from the options: immutable, or mutable and signed.
func (r *runCtx) buildItem(v []byte, now func() time.Time) (*bep44.Item, *int64, error) {
	if !r.Bool("mutable") {
		for _, name := range []string{"salt", "number", "cas"} {
			if r.IsSet(name) {
				return nil, nil, usagef("--%s applies to mutable items only: add --mutable", name)
			}
		}
		it, err := bep44.NewImmutable(v)
		if err != nil {
			return nil, nil, usagef("%v", err)
		}
		return it, nil, nil
	}
	salt, err := r.saltOption()
	if err != nil {
		return nil, nil, err
	}
	seq := now().UnixMicro()
	if r.IsSet("number") {
		if seq, err = parseNumber("sequence number", r.String("number")); err != nil {
			return nil, nil, err
		}
	}
	var cas *int64
	if r.IsSet("cas") {
		n, err := parseNumber("--cas", r.String("cas"))
		if err != nil {
			return nil, nil, err
		}
		cas = &n
	}
	signer, err := r.signer()
	if err != nil {
		return nil, nil, err
	}
	it, err := bep44.NewMutable(signer, salt, seq, v)
	if err != nil {
		return nil, nil, usagef("%v", err)
	}
	return it, cas, nil
}

// signer loads the user's key pair: grenache's own, else the original tool's.
func (r *runCtx) signer() (bep44.Signer, error) {
	store, err := keystore.Default()
	if err != nil {
		return nil, err
	}
	pair, err := store.Load()
	if err != nil {
		return nil, keyError(err)
	}
	if pair.Legacy {
		r.warnf("signing with the original grenache-cli key pair in %s", pair.Path)
		r.hintf("'grenache-keygen --import' copies it to %s, where grenache keeps its own", store.Path())
	}
	var s bep44.Signer
	if pair.Kind == keystore.KindSeed {
		s, err = bep44.NewSeedSigner(pair.Private)
	} else {
		s, err = bep44.NewExpandedSigner(pair.Private)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pair.Path, err)
	}
	if !bytes.Equal(s.PublicKey(), pair.Public) {
		return nil, fmt.Errorf("%s: the public key does not belong to the private key", pair.Path)
	}
	return s, nil
}
