package applets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"syscall"

	"grenache/bep44"
	"grenache/grape"
)

// explain turns an error from talking to the grape into the message and
// hints a user can act on, keeping its exit code.
func (gc *grapeClient) explain(err error) error {
	if gc.dht != nil {
		if e := gc.explainDHT(err); e != nil {
			return e
		}
	}
	var ge *grape.GrapeError
	var oe *net.OpError
	var ue *url.Error
	var unreachable *grape.UnreachableError
	if at := (*grape.At)(nil); errors.As(err, &at) {
		// One of several grapes answered or failed: name it.
		named := *gc
		named.where = at.Addr
		gc = &named
	}
	switch {
	case errors.As(err, &unreachable):
		return withCode(ExitFailure, err,
			"is a grape running at any of them? choose others with -g/--grape (HOST[:PORT],...)")
	// Before the deadline case: a dial that timed out may also match it, and then
	// it is the connect timeout (or the overall one, if shorter) that ended it.
	case errors.As(err, &oe) && oe.Op == "dial" && oe.Timeout():
		return withCode(ExitFailure, fmt.Errorf("cannot connect to a grape at %s within %s", gc.where, min(gc.connect, gc.timeout)),
			"is the grape's host up and reachable? a slow network may need a longer --connect-timeout")
	case errors.Is(err, context.DeadlineExceeded):
		return withCode(ExitFailure, fmt.Errorf("no answer from the grape at %s within %s", gc.where, gc.timeout),
			"a slow network may need a longer --timeout")
	case errors.Is(err, syscall.ECONNREFUSED):
		return withHints(fmt.Errorf("cannot connect to a grape at %s: connection refused", gc.where),
			"is a grape running there? choose another with -g/--grape and -p/--port")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return withCode(ExitFailure, fmt.Errorf("the grape at %s closed the connection before its answer was complete", gc.where),
			"it may have stopped or crashed; a put may or may not have been stored: get the item to see")
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		return withCode(ExitFailure, fmt.Errorf("the grape at %s closed the connection without answering", gc.where),
			"it may have stopped or crashed; a put may or may not have been stored: get the item to see")
	case errors.Is(err, bep44.ErrCASMismatch):
		return withHints(err, "another writer changed the item: read it again and retry with --cas set to its seq")
	case errors.Is(err, bep44.ErrSeqTooLow):
		return withHints(err, "the stored item has this sequence number or a higher one: use a greater -n/--number")
	case errors.As(err, &ge) && ge.Message == "All queries failed":
		return withHints(err, "the grape reached no node that accepted the item: most often its peers cannot verify mutable items, or it has none")
	case errors.As(err, &ge) && ge.Message == "No nodes to query":
		return withHints(err, "the grape has no peers in the DHT: start another grape and bootstrap them to each other")
	case errors.As(err, &ue):
		// The HTTP client's own words, without the method and URL it prefixes them with.
		return withCode(ExitFailure, fmt.Errorf("talking to the grape at %s: %w", gc.where, ue.Err))
	}
	return err
}
