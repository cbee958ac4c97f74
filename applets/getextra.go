package applets

import (
	"encoding/hex"

	"github.com/urfave/cli/v2"

	"grenache/bep44"
	"grenache/grape"
)

const flagKey = "key"

// getExtraFlags are get's options for scripts: JSON output, and reading a
// mutable item by its public key and salt.
func getExtraFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: flagJSON, Usage: "print the verified item as one JSON object: hash, v, and for a mutable item k, salt, seq, sig"},
		&cli.StringFlag{Name: flagKey, Usage: "read the mutable item of public key `PUBKEY` (64 hex digits) and --salt, in place of HASH"},
	}
}

// getTarget is what get reads: the HASH operand, or the hash of --key and
// --salt. Without --salt, a HASH's salt is the one put remembered for it, if
// any (remembered is then true).
func (r *runCtx) getTarget(f *fresh) (target bep44.Target, salt []byte, remembered bool, err error) {
	if salt, err = r.saltOption(); err != nil {
		return target, nil, false, err
	}
	if r.IsSet(flagKey) {
		if r.NArg() > 0 {
			return target, nil, false, usagef("--key gives the item's hash: no HASH operand (got %q)", r.Args().First())
		}
		k, err := hex.DecodeString(r.String(flagKey))
		if err != nil || len(k) != bep44.PublicKeySize {
			return target, nil, false, usagef("--key %q is not a public key: give 64 hex digits, as grenache-keygen --show prints them", r.String(flagKey))
		}
		return bep44.MutableTarget(k, salt), salt, false, nil
	}
	if r.NArg() != 1 {
		return target, nil, false, usagef("give exactly one HASH (got %d operands)", r.NArg())
	}
	if target, err = parseHash(r.Args().First()); err != nil {
		return target, nil, false, err
	}
	if salt == nil {
		salt = f.rememberedSalt(target)
		remembered = salt != nil
	}
	return target, salt, remembered, nil
}

// getJSON is get --json's output.
type getJSON struct {
	Hash string `json:"hash"`
	V    string `json:"v"`
	K    string `json:"k,omitempty"`
	Salt string `json:"salt,omitempty"`
	Seq  *int64 `json:"seq,omitempty"`
	Sig  string `json:"sig,omitempty"`
}

// printGetJSON prints the verified answer as get --json does.
func (r *runCtx) printGetJSON(target bep44.Target, ans *grape.Answer) error {
	it := &ans.Item
	out := getJSON{Hash: target.String(), V: string(it.V)}
	if it.Mutable() {
		out.K, out.Salt, out.Seq, out.Sig = hex.EncodeToString(it.K), string(it.Salt), &it.Seq, hex.EncodeToString(it.Sig)
	}
	return writeJSON(r.stdout, out)
}
