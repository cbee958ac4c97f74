package applets

import (
	"testing"
	"time"
)

// The waits of --every are drawn between 0.5 and 1.5 times the interval, and
// spread over that range.
func TestEveryWait(t *testing.T) {
	const every = time.Second
	lo, hi := every, time.Duration(0)
	for range 2000 {
		w := wait(every)
		if w < every/2 || w > every*3/2 {
			t.Fatalf("wait %s outside [%s, %s]", w, every/2, every*3/2)
		}
		lo, hi = min(lo, w), max(hi, w)
	}
	if lo > 600*time.Millisecond || hi < 1400*time.Millisecond {
		t.Errorf("2000 waits span only %s to %s", lo, hi)
	}
}
