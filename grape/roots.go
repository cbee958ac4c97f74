package grape

// The Mozilla roots, which crypto/x509 uses only where the system has no CA certificates
// of its own (SSL_CERT_FILE, SSL_CERT_DIR and the usual files all missing or empty, as in
// a FROM scratch container): a grape's TLS certificate is then verified there as it
// would be on a full system. Where the system has roots, they alone are used.
import _ "golang.org/x/crypto/x509roots/fallback"
