package applets

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"grenache/bep44"
	"grenache/grape"
)

const (
	flagBatch = "batch"
	flagJobs  = "jobs"
	// maxBatchLine bounds one input line: a 996-byte value escaped as \uXXXX
	// is about 6 KB; anything far larger is not an item.
	maxBatchLine = 64 << 10
)

func batchFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: flagBatch, Usage: "read one item per line of standard input (JSON) and write one JSON result line per item"},
		&cli.StringFlag{Name: flagJobs, Value: "8", Usage: "with --batch, keep at most `N` requests in flight"},
	}
}

// batchResult is one output line of a batch, and the item's exit code.
type batchResult struct {
	line any
	err  error
}

// errorLine is the output line of an item that failed.
type errorLine struct {
	Hash  string `json:"hash,omitempty"`
	Error string `json:"error"`
	Exit  int    `json:"exit"`
}

// batchItem is one prepared line of a batch: either a failure found while
// preparing it, or the request to send.
type batchItem struct {
	fail batchResult
	// key orders requests: an item waits until the last earlier item with the
	// same key has been answered, so that several versions of one mutable
	// item in a batch are stored in input order. Empty: no ordering.
	key  string
	send func(ctx context.Context) batchResult
}

// runBatch prepares each non-empty line of standard input in order, sends at
// most jobs requests at a time over one keep-alive connection pool, and
// writes the results in input order as they complete. A failed item is
// reported on its line and on standard error and does not stop the others.
// The exit code is the highest of the items'.
func (r *runCtx) runBatch(d *dial, prepare func(line []byte) batchItem) error {
	if r.NArg() > 0 {
		return usagef("--batch reads the items from standard input: no operands (got %q)", r.Args().First())
	}
	jobs, err := strconv.Atoi(r.String(flagJobs))
	if err != nil || jobs < 1 || jobs > 256 {
		return usagef("--jobs %q is not a number from 1 to 256", r.String(flagJobs))
	}
	if tr, ok := d.transport.Client.Transport.(*http.Transport); ok {
		tr.MaxIdleConnsPerHost = jobs
	}

	pending := make(chan chan batchResult, jobs)
	worst, failed := ExitOK, 0
	done := make(chan error, 1)
	go func() {
		out := bufio.NewWriter(r.stdout)
		var werr error
		n := 0
		for ch := range pending {
			n++
			res := <-ch
			line := res.line
			if res.err != nil {
				code := exitCode(res.err)
				worst = max(worst, code)
				failed++
				fmt.Fprintf(r.stderr, "%s: error: item %d: %v\n", r.prog, n, res.err)
				el := errorLine{Error: res.err.Error(), Exit: code}
				if h, ok := res.line.(string); ok {
					el.Hash = h
				}
				line = el
			}
			b, _ := json.Marshal(line)
			if werr == nil {
				_, werr = out.Write(append(b, '\n'))
			}
			// Flush when nothing else is ready, so that a slow batch shows progress.
			if len(pending) == 0 && werr == nil {
				werr = out.Flush()
			}
		}
		if werr == nil {
			werr = out.Flush()
		}
		done <- werr
	}()

	// A pool of jobs workers sends the requests: goroutines that live for the whole batch
	// keep their grown stacks, where one goroutine per item grew a fresh one each time.
	// Workers take items in input order, so an item waiting for an earlier one with the
	// same key waits for one already taken: the wait always ends.
	type job struct {
		it         batchItem
		ch         chan batchResult
		prev, mine chan struct{}
	}
	work := make(chan job)
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				if j.prev != nil {
					<-j.prev
				}
				ctx, cancel := d.context(context.Background())
				j.ch <- j.it.send(ctx)
				cancel()
				if j.mine != nil {
					close(j.mine)
				}
			}
		}()
	}

	sc := bufio.NewScanner(r.stdin)
	sc.Buffer(make([]byte, 0, 4096), maxBatchLine)
	last := map[string]chan struct{}{} // per key: closed when the latest item is answered
	n := 0
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		n++
		ch := make(chan batchResult, 1)
		pending <- ch
		it := prepare(line)
		if it.send == nil {
			ch <- it.fail
			continue
		}
		j := job{it: it, ch: ch}
		if it.key != "" {
			j.prev, j.mine = last[it.key], make(chan struct{})
			last[it.key] = j.mine
		}
		work <- j
	}
	close(work)
	wg.Wait()
	close(pending)
	werr := <-done
	if err := sc.Err(); err != nil {
		return usagef("reading item %d from standard input: %v", n+1, err)
	}
	if werr != nil {
		return fmt.Errorf("writing the results: %w", werr)
	}
	if worst != ExitOK {
		return withCode(worst, fmt.Errorf("%d of %d items failed", failed, n))
	}
	return nil
}

// decodeLine decodes one JSON line strictly: no unknown fields, no trailing
// data, valid UTF-8, and no unpaired surrogate escapes (which Go would turn
// into U+FFFD silently, storing other bytes than the user gave).
func decodeLine(line []byte, v any) error {
	if !utf8.Valid(line) {
		return usagef("the line is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return usagef("not a JSON item: %v", err)
	}
	if dec.More() {
		return usagef("more than one JSON value on the line")
	}
	return nil
}

// replaced reports whether decoding put a U+FFFD in s that line did not spell out.
func replaced(line []byte, s string) bool {
	return strings.Count(s, "\uFFFD") > bytes.Count(line, []byte("\uFFFD"))+
		bytes.Count(bytes.ToLower(line), []byte(`\ufffd`))
}

// putLine is an input line of put --batch.
type putLine struct {
	V    *string      `json:"v"`
	Salt *string      `json:"salt"`
	Seq  *json.Number `json:"seq"`
	Cas  *json.Number `json:"cas"`
}

type putResult struct {
	Hash string `json:"hash"`
	Seq  *int64 `json:"seq,omitempty"`
}

func (r *runCtx) putBatch(defaults putSpec) error {
	d, err := r.grapeOptions()
	if err != nil {
		return err
	}
	var signer bep44.Signer
	if defaults.mutable {
		if signer, err = r.signer(); err != nil {
			return err
		}
	}
	c := newClock(time.Now)
	f, _ := r.freshness()
	defer f.save()
	return r.runBatch(d, func(line []byte) batchItem {
		spec, err := parsePutLine(line, defaults)
		if err != nil {
			return batchItem{fail: batchResult{err: err}}
		}
		it, err := spec.item(signer, c)
		if err != nil {
			return batchItem{fail: batchResult{err: err}}
		}
		target := it.Target().String()
		return batchItem{key: target, send: func(ctx context.Context) batchResult {
			if _, err := grape.Store(ctx, d.transport, it, spec.cas); err != nil {
				return batchResult{line: target, err: d.explain(err)}
			}
			res := putResult{Hash: target}
			f.stored(it)
			if it.Mutable() {
				res.Seq = &it.Seq
			}
			return batchResult{line: res}
		}}
	})
}

func parsePutLine(line []byte, spec putSpec) (putSpec, error) {
	var in putLine
	if line[0] == '"' {
		var s string
		if err := decodeLine(line, &s); err != nil {
			return spec, err
		}
		in.V = &s
	} else if err := decodeLine(line, &in); err != nil {
		return spec, err
	}
	if in.V == nil {
		return spec, usagef(`the item has no "v"`)
	}
	if replaced(line, *in.V) {
		return spec, usagef("the value has an unpaired surrogate escape: it is not text the grape can carry")
	}
	spec.v = []byte(*in.V)
	if err := checkValue(spec.v); err != nil {
		return spec, err
	}
	if !spec.mutable && (in.Salt != nil || in.Seq != nil || in.Cas != nil) {
		return spec, usagef("salt, seq and cas apply to mutable items only: add --mutable")
	}
	var err error
	if in.Salt != nil {
		if replaced(line, *in.Salt) {
			return spec, usagef("the salt has an unpaired surrogate escape")
		}
		if spec.salt, err = checkSalt(*in.Salt); err != nil {
			return spec, err
		}
	}
	if in.Seq != nil {
		if spec.seq, err = numberPtr("seq", in.Seq.String()); err != nil {
			return spec, err
		}
	}
	if in.Cas != nil {
		if spec.cas, err = numberPtr("cas", in.Cas.String()); err != nil {
			return spec, err
		}
	}
	return spec, nil
}

// getLine is an input line of get --batch (or a bare hash). Seq is the least
// acceptable seq (put --batch's output lines carry the one stored).
type getLine struct {
	Hash string       `json:"hash"`
	Salt *string      `json:"salt"`
	Seq  *json.Number `json:"seq"`
}

type getResult struct {
	Hash string `json:"hash"`
	V    string `json:"v"`
	K    string `json:"k,omitempty"`
	Salt string `json:"salt,omitempty"`
	Seq  *int64 `json:"seq,omitempty"`
}

func (r *runCtx) getBatch(defaultSalt []byte, f *fresh) error {
	d, err := r.grapeOptions()
	if err != nil {
		return err
	}
	defer f.save()
	return r.runBatch(d, func(line []byte) batchItem {
		fail := func(hash string, err error) batchItem { return batchItem{fail: batchResult{line: hash, err: err}} }
		in := getLine{Hash: string(line)}
		if line[0] == '{' || line[0] == '"' {
			var err error
			if line[0] == '"' {
				err = decodeLine(line, &in.Hash)
			} else {
				err = decodeLine(line, &in)
			}
			if err != nil {
				return fail("", err)
			}
		}
		target, err := parseHash(in.Hash)
		if err != nil {
			return fail("", err)
		}
		salt := defaultSalt
		if in.Salt != nil {
			if salt, err = checkSalt(*in.Salt); err != nil {
				return fail(target.String(), err)
			}
		}
		floor, err := lineSeq(in.Seq)
		if err != nil {
			return fail(target.String(), err)
		}
		return batchItem{send: func(ctx context.Context) batchResult {
			ans, err := grape.Fetch(ctx, d.transport, target, salt)
			if err != nil {
				return batchResult{line: target.String(), err: r.getError(d, target, salt, err)}
			}
			if err := f.check(target, &ans.Item, floor, "the line's seq"); err != nil {
				return batchResult{line: target.String(), err: err}
			}
			res := getResult{Hash: target.String(), V: string(ans.Item.V), Salt: string(salt)}
			if ans.Item.Mutable() {
				res.K = hex.EncodeToString(ans.Item.K)
				res.Seq = &ans.Item.Seq
			}
			return batchResult{line: res}
		}}
	})
}
