package applets

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/urfave/cli/v2"

	"grenache/bep44"
	"grenache/grape"
)

const (
	flagBatch = "batch"
	flagJobs  = "jobs"
	// maxBatchLine bounds one input line: a 1000-byte value escaped as \uXXXX
	// is about 6 KB; anything far larger is not an item.
	maxBatchLine = 64 << 10
)

func batchFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: flagBatch, Usage: "read one item per line of standard input (JSON) and write one JSON result line per item"},
		&cli.StringFlag{Name: flagJobs, Value: "8", Usage: "with --batch, keep at most `N` requests in flight"},
	}
}

// parseJobs reads --jobs: a decimal number from 1 to 256, requests in flight at once.
func parseJobs(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 256 || s[0] < '0' || s[0] > '9' {
		return 0, usagef("--jobs %q is not a number from 1 to 256", s)
	}
	return n, nil
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
func (r *runCtx) runBatch(gc *grapeClient, prepare func(line []byte) batchItem) error {
	if r.NArg() > 0 {
		return usagef("--batch reads the items from standard input: no operands (got %q)", r.Args().First())
	}
	jobs := gc.jobs

	pending := make(chan chan batchResult, jobs)
	worst, failed := ExitOK, 0
	done := make(chan error, 1)
	go func() {
		out := bufio.NewWriter(r.stdout)
		var werr error
		n := 0
		hinted := map[string]bool{} // each hint once per batch
		for ch := range pending {
			n++
			res := <-ch
			line := res.line
			if res.err != nil {
				code := exitCode(res.err)
				worst = max(worst, code)
				failed++
				fmt.Fprintf(r.stderr, "%s: error: item %d: %v\n", r.prog, n, res.err)
				for _, h := range hintsOf(res.err) {
					if !hinted[h] {
						hinted[h] = true
						fmt.Fprintf(r.stderr, "%s: hint: %s\n", r.prog, h)
					}
				}
				el := errorLine{Error: res.err.Error(), Exit: code}
				if h, ok := res.line.(string); ok {
					el.Hash = h
				}
				line = el
			}
			if werr == nil {
				werr = writeJSON(out, line) // values are text: <, > and & as they are
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
				ctx, cancel := gc.context(context.Background())
				j.ch <- j.it.send(ctx)
				cancel()
				if j.mine != nil {
					close(j.mine)
				}
			}
		}()
	}

	in := bufio.NewReader(r.stdin)
	last := map[string]chan struct{}{} // per key: closed when the latest item is answered
	n, lineNo := 0, 0
	var rerr error
	for {
		raw, long, err := readBatchLine(in)
		if err != nil {
			if err != io.EOF {
				rerr = err
			}
			break
		}
		lineNo++
		line := bytes.TrimSpace(raw)
		if len(line) == 0 && !long {
			continue
		}
		n++
		ch := make(chan batchResult, 1)
		pending <- ch
		if long {
			ch <- batchResult{err: usagef("line %d is longer than %d KiB", lineNo, maxBatchLine>>10)}
			continue
		}
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
	if rerr != nil {
		return usagef("reading item %d from standard input: %v", n+1, rerr)
	}
	if werr != nil {
		return fmt.Errorf("writing the results: %w", werr)
	}
	if worst != ExitOK {
		return withCode(worst, fmt.Errorf("%d of %d items failed", failed, n))
	}
	return nil
}

// readBatchLine reads one line of standard input without its newline,
// keeping at most maxBatchLine bytes of it: long reports that there were
// more, which were skipped up to the newline. The last line may end without
// a newline; after it, the error is io.EOF.
func readBatchLine(in *bufio.Reader) (line []byte, long bool, err error) {
	read := false
	for {
		chunk, err := in.ReadSlice('\n')
		read = read || len(chunk) > 0
		chunk = bytes.TrimSuffix(chunk, []byte{'\n'})
		if !long && len(line)+len(chunk) <= maxBatchLine {
			line = append(line, chunk...)
		} else {
			long, line = true, nil
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && read:
			return line, long, nil
		}
		return line, long, err
	}
}

// putLine is an input line of put --batch.
type putLine struct {
	v, salt  *string
	seq, cas *int64
}

// parsePutLine reads a line of put --batch: a JSON string (the value) or an
// object of "v", "salt", "seq" and "cas".
func parsePutLine(line []byte) (putLine, error) {
	var in putLine
	if line[0] == '"' {
		v, err := decodeLineText(line, "the value")
		in.v = &v
		return in, err
	}
	err := decodeLineObject(line,
		lineField{name: "v", what: "the value", text: &in.v},
		lineField{name: "salt", what: "the salt", text: &in.salt},
		lineField{name: "seq", num: &in.seq},
		lineField{name: "cas", num: &in.cas})
	return in, err
}

// putResult is an output line of put --batch: all that get --batch needs to
// read the item back.
type putResult struct {
	Hash string `json:"hash"`
	Salt string `json:"salt,omitempty"`
	Seq  *int64 `json:"seq,omitempty"`
}

func (r *runCtx) putBatch(defaults putSpec) error {
	gc, err := r.grapeOptions()
	if err != nil {
		return err
	}
	defer gc.close()
	var signer bep44.Signer
	if defaults.mutable {
		if signer, err = r.signer(); err != nil {
			return err
		}
	}
	c := newClock(clockNow)
	f, _ := r.freshness()
	defer f.save()
	return r.runBatch(gc, func(line []byte) batchItem {
		spec, err := putLineSpec(line, defaults)
		if err != nil {
			return batchItem{fail: batchResult{err: err}}
		}
		if spec.mutable {
			if err := f.defaultSeq(&spec, c, bep44.MutableTarget(signer.PublicKey(), spec.salt), nil); err != nil {
				return batchItem{fail: batchResult{err: err}}
			}
		}
		it, err := spec.item(signer, c)
		if err == nil {
			err = gc.checkItem(it, spec.cas)
		}
		if err != nil {
			return batchItem{fail: batchResult{err: err}}
		}
		target := it.Target().String()
		return batchItem{key: target, send: func(ctx context.Context) batchResult {
			res := putResult{Hash: target}
			if it.Mutable() {
				res.Salt, res.Seq = string(it.Salt), &it.Seq
			}
			if defaults.dryRun {
				return batchResult{line: res}
			}
			if _, err := grape.Store(ctx, gc.transport, it, spec.cas); err != nil {
				return batchResult{line: target, err: gc.explain(err)}
			}
			f.stored(it)
			return batchResult{line: res}
		}}
	})
}

// putLineSpec is what a line of put --batch stores: the line's fields over
// the options' spec.
func putLineSpec(line []byte, spec putSpec) (putSpec, error) {
	in, err := parsePutLine(line)
	if err != nil {
		return spec, err
	}
	if in.v == nil {
		return spec, usagef(`the item has no "v"`)
	}
	spec.v = []byte(*in.v)
	if err := checkValue(spec.v); err != nil {
		return spec, err
	}
	if !spec.mutable && (in.salt != nil || in.seq != nil || in.cas != nil) {
		return spec, usagef("salt, seq and cas apply to mutable items only: add --mutable")
	}
	if in.salt != nil {
		if spec.salt, err = checkSalt(*in.salt); err != nil {
			return spec, err
		}
	}
	if in.seq != nil {
		spec.seq = in.seq
	}
	if in.cas != nil {
		spec.cas = in.cas
	}
	return spec, nil
}

// getLine is an input line of get --batch: a bare hash, a JSON string (the
// hash), or an object of "hash", "salt" and "seq", as put --batch writes. Seq
// is the least acceptable seq (put --batch's output lines carry the one stored).
type getLine struct {
	hash string
	salt *string
	// minSeq is the line's "seq", a whole number, the least acceptable seq: put --batch's output line
	// carries the sequence number it stored.
	minSeq *int64
}

func parseGetLine(line []byte) (getLine, error) {
	var in getLine
	var err error
	switch line[0] {
	case '"':
		in.hash, err = decodeLineText(line, "the hash")
	case '{':
		var hash *string
		err = decodeLineObject(line,
			lineField{name: "hash", what: "the hash", text: &hash},
			lineField{name: "salt", what: "the salt", text: &in.salt},
			lineField{name: "seq", num: &in.minSeq})
		if err == nil && hash == nil {
			err = usagef(`the item has no "hash"`)
		}
		if hash != nil {
			in.hash = *hash
		}
	default:
		in.hash = string(line)
	}
	return in, err
}

type getResult struct {
	Hash string `json:"hash"`
	V    string `json:"v"`
	K    string `json:"k,omitempty"`
	Salt string `json:"salt,omitempty"`
	Seq  *int64 `json:"seq,omitempty"`
}

func (r *runCtx) getBatch(defaultSalt []byte, f *fresh) error {
	gc, err := r.grapeOptions()
	if err != nil {
		return err
	}
	defer gc.close()
	defer f.save()
	return r.runBatch(gc, func(line []byte) batchItem {
		fail := func(hash string, err error) batchItem { return batchItem{fail: batchResult{line: hash, err: err}} }
		in, err := parseGetLine(line)
		if err != nil {
			return fail("", err)
		}
		target, err := parseHash(in.hash)
		if err != nil {
			return fail("", err)
		}
		salt := defaultSalt
		if in.salt != nil {
			if salt, err = checkSalt(*in.salt); err != nil {
				return fail(target.String(), err)
			}
		}
		floor := int64(-1) // the line's seq: the least acceptable one
		if in.minSeq != nil {
			floor = *in.minSeq
		}
		return batchItem{send: func(ctx context.Context) batchResult {
			ans, err := grape.Fetch(ctx, gc.transport, target, salt)
			if err != nil {
				return batchResult{line: target.String(), err: r.getError(gc, target, salt, err)}
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
