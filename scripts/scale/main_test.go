package main

import (
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 200; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		n, p int
		want time.Duration
	}{
		{200, 50, 100 * time.Millisecond},
		{200, 99, 198 * time.Millisecond},
		{10, 50, 5 * time.Millisecond},
		{10, 99, 10 * time.Millisecond}, // fewer than 100: the slowest
		{1, 99, time.Millisecond},
		{0, 50, -1},
	} {
		if got := percentile(d[:c.n], c.p); got != c.want {
			t.Errorf("p%d of 1..%d ms = %v, want %v", c.p, c.n, got, c.want)
		}
	}
}

func TestParseTransports(t *testing.T) {
	ts, err := parseTransports("dht,http")
	if err != nil || len(ts) != 2 || ts[0].flag != "--dht" || ts[1].flag != "-g" {
		t.Fatalf("parseTransports(dht,http) = %v, %v", ts, err)
	}
	for _, bad := range []string{"", "udp", "http,http"} {
		if _, err := parseTransports(bad); err == nil {
			t.Errorf("parseTransports(%q): no error", bad)
		}
	}
}

// TestTableFailures: failures are counted by exit code with their message,
// items never put and operations cut are said, and nothing is invented for
// a row where nothing succeeded.
func TestTableFailures(t *testing.T) {
	res := &result{rows: []*row{
		{transport: "dht", phase: "p", op: "put", planned: 10, attempted: 10, fails: map[int]*failure{2: {10, "grenache put: error: unknown option --dht | `x`"}}},
		{transport: "dht", phase: "p", op: "get", planned: 10, notPut: 10, fails: map[int]*failure{}},
		{transport: "http", phase: "p", op: "get", planned: 10, attempted: 6, ok: 5,
			lat:   []time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond, 4 * time.Millisecond, 90 * time.Millisecond},
			fails: map[int]*failure{3: {1, "grenache get: error: not found"}}},
		{transport: "http", phase: "p", op: "list", planned: 10, attempted: 10, ok: 7, allDown: 2, downFail: 2,
			lat:   []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond},
			fails: map[int]*failure{1: {3, "grenache get: error: cannot connect to any grape"}}},
	}}
	got := strings.Split(strings.TrimSpace(res.table()), "\n")
	want := []string{
		"| transport | phase | operation | ok | rate | p50 ms | p99 ms | failures |",
		"|---|---|---|--:|--:|--:|--:|---|",
		"| dht | p | put | 0 / 10 | 0.0 % | – | – | 10 × exit 2: `grenache put: error: unknown option --dht \\| 'x'` |",
		"| dht | p | get | 0 / 0 | – | – | – | 10 of 10 items were not put, so not read |",
		"| http | p | get | 5 / 6 | 83.3 % | 3 | 90 | 1 × exit 3: `grenache get: error: not found`; 4 not run (the run was cut) |",
		"| http | p | list | 7 / 10 | 70.0 % | 1 | 1 | 3 × exit 1: `grenache get: error: cannot connect to any grape`; 2 named only stopped grapes, and 2 of them failed; 1 of the other 8 failed |",
	}
	if len(got) != len(want) {
		t.Fatalf("table has %d lines, want %d:\n%s", len(got), len(want), res.table())
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
}
