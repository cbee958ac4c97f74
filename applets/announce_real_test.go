//go:build integration && unix

package applets

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"

	"grenache/grape/grapenet"
)

// Against real grapes: announce --every through one grape (behind a proxy
// that counts the announces), lookup through the other; SIGTERM and SIGINT
// end the loop at once with exit 0.
func TestAnnounceEveryRealGrapes(t *testing.T) {
	net := grapenet.Start(t, 2)
	target, err := url.Parse(net.Grapes[0].URL())
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/announce" {
			n.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	testEvery(t, portOf(t, srv.URL), strconv.Itoa(net.Grapes[1].APIPort), func() int { return int(n.Load()) })
}

// Against real grapes: announce reads a FIFO kept open, a line at a time,
// through one grape; lookup through the other finds each before the next is
// written.
func TestAnnounceFIFORealGrapes(t *testing.T) {
	net := grapenet.Start(t, 2)
	testFIFO(t, strconv.Itoa(net.Grapes[0].APIPort), strconv.Itoa(net.Grapes[1].APIPort))
}
