package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// results is everything one run measured; it is bench.json.
type results struct {
	Date            string        `json:"date"`
	Go              string        `json:"go"`
	CPUs            int           `json:"cpus"`
	Kernel          string        `json:"kernel"`
	Binary          string        `json:"binary"`
	Version         string        `json:"version"`
	Runs            int           `json:"runs"`
	Seconds         float64       `json:"seconds"`
	Ops             []opStats     `json:"ops"`
	Ratios          []ratio       `json:"ratios"`
	BinaryBytes     int64         `json:"binary_bytes"`
	GetPeakRSSKiB   int64         `json:"get_peak_rss_kib"`
	GetMedianRSSKiB int64         `json:"get_median_rss_kib"`
	Init            *initStats    `json:"init"`
	Batch           *batchStats   `json:"batch,omitempty"`
	BatchNote       string        `json:"batch_note,omitempty"`
	GoBench         []goBenchLine `json:"go_bench,omitempty"`
	Targets         []target      `json:"targets"`
	Out             string        `json:"-"`
}

// ratio compares grenache's median with a floor's, for one operation.
type ratio struct {
	Op         string  `json:"op"`
	OverCurl   float64 `json:"grenache_over_curl"`
	OverInProc float64 `json:"grenache_over_in_process"`
	AboveMS    float64 `json:"grenache_minus_in_process_ms"`
}

// target is one of the goals: shown, never asserted.
type target struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Limit float64 `json:"limit"`
	Unit  string  `json:"unit"`
	Max   bool    `json:"limit_is_max"` // value must be at most Limit (else at least)
	Met   bool    `json:"met"`
}

func (r *results) op(op, client string) *opStats {
	for i := range r.Ops {
		if r.Ops[i].Op == op && r.Ops[i].Client == client {
			return &r.Ops[i]
		}
	}
	return nil
}

func (r *results) addTarget(name string, value, limit float64, unit string, isMax bool) {
	met := value <= limit
	if !isMax {
		met = value >= limit
	}
	r.Targets = append(r.Targets, target{name, value, limit, unit, isMax, met})
}

// The limits of the issue. MB are decimal: 8 MB is 8,000,000 bytes.
const (
	maxOverCurl     = 0.5
	maxAboveInProc  = 2.0 // ms
	maxInitPkgMS    = 0.1 // no package initializer may cost more: nothing heavy at init
	minBatchSpeedup = 10
	maxBatchOverIn  = 1.5
	maxBinaryBytes  = 8e6
	maxRSSBytes     = 15e6
)

// targets computes the ratios and checks every target.
func (r *results) targets() {
	for _, op := range []string{opPut, opPutMut, opGet, opGetMut} {
		g, c, in := r.op(op, cGrenache), r.op(op, cCurl), r.op(op, cInProc)
		if g == nil || c == nil || in == nil || g.N == 0 || c.N == 0 || in.N == 0 {
			continue
		}
		q := ratio{Op: op, OverCurl: g.MedianMS / c.MedianMS, OverInProc: g.MedianMS / in.MedianMS, AboveMS: g.MedianMS - in.MedianMS}
		r.Ratios = append(r.Ratios, q)
		r.addTarget(op+": grenache median / curl median", q.OverCurl, maxOverCurl, "×", true)
		r.addTarget(op+": grenache median − in-process median", q.AboveMS, maxAboveInProc, "ms", true)
	}
	if r.Init != nil {
		r.addTarget("--version: heaviest package initializer (median)", r.Init.HeaviestMS, maxInitPkgMS, "ms", true)
	}
	if b := r.Batch; b != nil {
		for _, op := range []string{"put", "get"} {
			var batch, loop, in float64
			for _, m := range b.Rows {
				if m.Op != op {
					continue
				}
				switch m.Mode {
				case mBatch:
					batch = m.SecondsMed
				case mLoop:
					loop = m.SecondsMed
				case mInProc:
					in = m.SecondsMed
				}
			}
			r.addTarget(fmt.Sprintf("%s --batch: throughput / one process per item", op), loop/batch, minBatchSpeedup, "×", false)
			r.addTarget(fmt.Sprintf("%s --batch: time / in-process client", op), batch/in, maxBatchOverIn, "×", true)
		}
	}
	r.addTarget("static binary size", float64(r.BinaryBytes)/1e6, maxBinaryBytes/1e6, "MB", true)
	r.addTarget("peak RSS of a get", float64(r.GetPeakRSSKiB)*1024/1e6, maxRSSBytes/1e6, "MB", true)
}

func (r *results) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bench.json"), append(j, '\n'), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "bench.csv"))
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	g := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	w.Write([]string{"section", "name", "client", "n", "min_ms", "median_ms", "p90_ms", "value", "limit", "unit", "met"})
	for _, o := range r.Ops {
		w.Write([]string{"op", o.Op, o.Client, strconv.Itoa(o.N), g(o.MinMS), g(o.MedianMS), g(o.P90MS), "", "", "ms", ""})
	}
	for _, q := range r.Ratios {
		w.Write([]string{"ratio", q.Op, "grenache/curl", "", "", "", "", g(q.OverCurl), "", "×", ""})
		w.Write([]string{"ratio", q.Op, "grenache/in-process", "", "", "", "", g(q.OverInProc), "", "×", ""})
		w.Write([]string{"ratio", q.Op, "grenache-in-process", "", "", "", "", g(q.AboveMS), "", "ms", ""})
	}
	if b := r.Batch; b != nil {
		for _, m := range b.Rows {
			w.Write([]string{"batch", m.Op, m.Mode, strconv.Itoa(b.Items), "", "", "", g(m.PerSecond), "", "items/s", ""})
		}
	}
	w.Write([]string{"metric", "binary size", "", "", "", "", "", strconv.FormatInt(r.BinaryBytes, 10), "", "bytes", ""})
	w.Write([]string{"metric", "peak RSS of a get", "", "", "", "", "", strconv.FormatInt(r.GetPeakRSSKiB, 10), "", "KiB", ""})
	if r.Init != nil {
		w.Write([]string{"metric", "init clock (--version)", "", "", "", "", "", g(r.Init.ClockMS), "", "ms", ""})
	}
	for _, gb := range r.GoBench {
		w.Write([]string{"gobench", gb.Name, gb.Package, "", "", "", "", g(gb.NsPerOp), "", "ns/op", ""})
	}
	for _, t := range r.Targets {
		w.Write([]string{"target", t.Name, "", "", "", "", "", g(t.Value), g(t.Limit), t.Unit, strconv.FormatBool(t.Met)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func f2(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) }

func (r *results) markdown(w io.Writer) {
	fmt.Fprintf(w, "\n## grenache bench: %s\n\n", r.Version)
	fmt.Fprintf(w, "%s, %s, %d CPUs, %s; %d interleaved runs of each row; times in ms.\n\n", r.Date, r.Kernel, r.CPUs, r.Go, r.Runs)
	fmt.Fprintln(w, "| operation | client | min | median | p90 | ÷ curl | ÷ in-process | − in-process |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|")
	clients := map[string]string{
		cGrenache: "grenache", cCurl: "curl (one process per request)", cInProc: "in-process keep-alive",
		cTrue: "/bin/true", cHello: "static Go hello world",
	}
	for _, o := range r.Ops {
		var a, b, c string
		if o.Client == cGrenache {
			for _, q := range r.Ratios {
				if q.Op == o.Op {
					a, b, c = f2(q.OverCurl), f2(q.OverInProc), "+"+f2(q.AboveMS)
				}
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", o.Op, clients[o.Client], f2(o.MinMS), f2(o.MedianMS), f2(o.P90MS), a, b, c)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Static binary: %d bytes (%.2f MB, %.2f MiB). Peak RSS of a get: %d KiB at most, %d KiB median.\n",
		r.BinaryBytes, float64(r.BinaryBytes)/1e6, float64(r.BinaryBytes)/(1<<20), r.GetPeakRSSKiB, r.GetMedianRSSKiB)
	if in := r.Init; in != nil {
		var hs []string
		for _, h := range in.Heaviest {
			hs = append(hs, fmt.Sprintf("%s %.3f ms (%d B, %d allocs)", h.Package, h.ClockMS, h.Bytes, h.Allocs))
		}
		fmt.Fprintf(w, "Package initializers (GODEBUG=inittrace=1 grenache --version, median of %d): %d packages, %.3f ms, %d bytes, %d allocs; heaviest: %s.\n",
			in.Runs, in.Packages, in.ClockMS, in.Bytes, in.Allocs, strings.Join(hs, "; "))
	}
	if b := r.Batch; b != nil {
		fmt.Fprintf(w, "\n### %d items, %d in flight (median of %d)\n\n", b.Items, b.Jobs, b.Reps)
		fmt.Fprintln(w, "| op | how | seconds | items/s | ms/item |")
		fmt.Fprintln(w, "|---|---|--:|--:|--:|")
		for _, m := range b.Rows {
			fmt.Fprintf(w, "| %s | %s | %.3f | %.0f | %.3f |\n", m.Op, m.Mode, m.SecondsMed, m.PerSecond, 1000*m.SecondsMed/float64(b.Items))
		}
	} else if r.BatchNote != "" {
		fmt.Fprintf(w, "\nBatch: %s\n", r.BatchNote)
	}
	fmt.Fprintln(w, "\n### Targets (shown, never asserted)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | value | limit | met |")
	fmt.Fprintln(w, "|---|--:|--:|---|")
	for _, t := range r.Targets {
		cmp, met := "≥", "yes"
		if t.Max {
			cmp = "≤"
		}
		if !t.Met {
			met = "**no**"
		}
		fmt.Fprintf(w, "| %s | %s %s | %s %s %s | %s |\n", t.Name, f2(t.Value), t.Unit, cmp, f2(t.Limit), t.Unit, met)
	}
	if len(r.GoBench) > 0 {
		fmt.Fprintln(w, "\n### Go benchmarks")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| benchmark | ns/op | B/op | allocs/op |")
		fmt.Fprintln(w, "|---|--:|--:|--:|")
		for _, g := range r.GoBench {
			fmt.Fprintf(w, "| %s %s | %.0f | %d | %d |\n", strings.TrimPrefix(g.Package, "grenache/"), g.Name, g.NsPerOp, g.BytesPerOp, g.AllocsPerOp)
		}
	}
	fmt.Fprintf(w, "\nWhole run: %.0f s. Machine-readable: %s and %s.\n", r.Seconds, filepath.Join(r.Out, "bench.json"), filepath.Join(r.Out, "bench.csv"))
}
