package grape

import (
	"crypto/x509"
	"sync"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// useFallbackRoots gives crypto/x509 the Mozilla roots (golang.org/x/crypto's bundle),
// which it uses only where the system has no CA certificates of its own
// (SSL_CERT_FILE, SSL_CERT_DIR and the usual files all missing or empty, as in a FROM
// scratch container): a grape's TLS certificate is then verified there as it would be on
// a full system. Where the system has roots, they alone are used.
//
// NewHTTP calls it for a TLS grape only. The package golang.org/x/crypto/x509roots/fallback
// does the same in an init function, which parses every root in every process: about
// 1.1 ms of a 3 ms get that never uses TLS (GODEBUG=inittrace=1).
func useFallbackRoots() { fallbackOnce.Do(setFallbackRoots) }

var fallbackOnce sync.Once

func setFallbackRoots() {
	p := x509.NewCertPool()
	for c := range bundle.Roots() {
		cert, err := x509.ParseCertificate(c.Certificate)
		if err != nil {
			continue // the bundle is generated from parsed certificates: never
		}
		if c.Constraint == nil {
			p.AddCert(cert)
		} else {
			p.AddCertWithConstraint(cert, c.Constraint)
		}
	}
	x509.SetFallbackRoots(p)
}
