//go:build integration

package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/crypto/x509roots/fallback/bundle"

	"grenache/grape/grapenet"
)

var (
	imageFlag   = flag.String("image", "", "the image archive to check (make image's); none: build one from a binary built here")
	appletsFlag = flag.String("applets", "", "the applets the image must hold; none: the Makefile's APPLETS")
)

// root is the repository's root, from this package's folder.
const root = "../.."

// TestImage checks the image make image writes (-image), or one built here from a static
// binary built here: its config, its exact files, that the same binary makes the same
// image, then runs keygen, put and get inside its root filesystem (unshare --root, as
// root, as a container runtime would without the isolation) against two real loopback
// grapes, with -g localhost (the root has no /etc/hosts), and --tls against a
// certificate that only the embedded roots can name (the root has no CA certificates).
func TestImage(t *testing.T) {
	applets := strings.Fields(*appletsFlag)
	if len(applets) == 0 {
		applets = makefileApplets(t)
	}
	archive := *imageFlag
	if archive == "" {
		archive = buildHere(t, applets)
	}
	img, err := tarball.ImageFromPath(archive, nil)
	if err != nil {
		t.Fatalf("reading the image archive %s: %v", archive, err)
	}

	// The config.
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	epoch := time.Unix(0, 0).UTC()
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH || !cf.Created.Time.Equal(epoch) {
		t.Errorf("platform %s/%s, created %v; want linux/%s, created at the epoch", cf.OS, cf.Architecture, cf.Created.Time, runtime.GOARCH)
	}
	wantConfig := v1.Config{
		Entrypoint: []string{"/grenache"},
		Env:        []string{"XDG_CONFIG_HOME=/data/config", "XDG_STATE_HOME=/data/state"},
	}
	if diff := cmp.Diff(wantConfig, cf.Config); diff != "" {
		t.Errorf("image config mismatch (-want +got):\n%s", diff)
	}

	// The files: the binary and a relative link per applet, nothing else.
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("image layers: %d, %v; want one", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	got := listTar(t, rc)
	rc.Close()
	want := []string{"grenache reg 0755 0:0 1970-01-01T00:00:00Z"}
	for _, a := range applets {
		want = append(want, "grenache-"+a+" symlink->grenache 0777 0:0 1970-01-01T00:00:00Z")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("layer contents mismatch (-want +got):\n%s", diff)
	}

	// The root filesystem, exported as a runtime would lay it out.
	dir := t.TempDir()
	exportRoot(t, img, dir)
	bin := filepath.Join(dir, "grenache")

	// Reproducible: the binary in the image makes the same config and layer again.
	again, err := Build(bin, applets)
	if err != nil {
		t.Fatalf("Build from the image's binary: %v", err)
	}
	for _, f := range []func(v1.Image) (v1.Hash, error){configDigest, layerDigest} {
		h1, err1 := f(img)
		h2, err2 := f(again)
		if err1 != nil || err2 != nil || h1 != h2 {
			t.Errorf("not reproducible: %v (%v) from the archive, %v (%v) built again", h1, err1, h2, err2)
		}
	}

	// Inside the root, with the image's environment only.
	run := func(wantCode int, args ...string) (stdout, stderr string) {
		t.Helper()
		cmd := exec.Command("unshare", append([]string{"--mount", "--pid", "--fork", "--root=" + dir}, args...)...)
		cmd.Env = cf.Config.Env
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %v (unshare, as root, is needed)", strings.Join(args, " "), err)
		}
		if code != wantCode {
			t.Fatalf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, wantCode, o.String(), e.String())
		}
		return o.String(), e.String()
	}
	if out, _ := run(0, "/grenache", "--version"); !strings.HasPrefix(out, "grenache ") {
		t.Errorf("grenache --version in the image: %q", out)
	}
	for _, a := range applets {
		if out, _ := run(0, "/grenache-"+a, "--help"); !strings.HasPrefix(out, "usage: grenache-"+a+" ") {
			t.Errorf("/grenache-%s --help in the image: %q, want its usage", a, firstLine(out))
		}
	}

	net := grapenet.Start(t, 2)
	p1, p2 := strconv.Itoa(net.Grapes[0].APIPort), strconv.Itoa(net.Grapes[1].APIPort)
	hash := regexp.MustCompile(`^[0-9a-f]{40}\n$`)

	pub, _ := run(0, "/grenache-keygen")
	if !regexp.MustCompile(`^[0-9a-f]{64}\n$`).MatchString(pub) {
		t.Errorf("keygen: %q, want a public key", pub)
	}
	if _, err := os.Stat(filepath.Join(dir, "data/config/grenache/key")); err != nil {
		t.Errorf("keygen wrote no key under XDG_CONFIG_HOME: %v", err)
	}

	// Immutable: put through grape 1, get through grape 2.
	h, _ := run(0, "/grenache-put", "-g", "localhost", "-p", p1, "from a scratch root")
	if !hash.MatchString(h) {
		t.Fatalf("put: %q, want a hash", h)
	}
	if v, _ := run(0, "/grenache-get", "-g", "localhost", "-p", p2, strings.TrimSpace(h)); v != "from a scratch root\n" {
		t.Errorf("get of the immutable item: %q", v)
	}

	// Mutable, salted, through the entrypoint's subcommands.
	h, _ = run(0, "/grenache", "put", "-g", "localhost", "-p", p1, "-m", "-s", "image", "-n", "7", "mutable in a scratch root")
	if !hash.MatchString(h) {
		t.Fatalf("mutable put: %q, want a hash", h)
	}
	if v, _ := run(0, "/grenache", "get", "-g", "localhost", "-p", p2, "-s", "image", "-r", strings.TrimSpace(h)); !strings.Contains(v, `"v":"mutable in a scratch root"`) || !strings.Contains(v, `"seq":7`) || !strings.Contains(v, `"k":"`+strings.TrimSpace(pub)+`"`) {
		t.Errorf("get of the mutable item: %q", v)
	}

	// --tls with no CA certificate in the root: a certificate claiming to be issued by
	// ISRG Root X1 (and signed by another key) is refused after the embedded ISRG Root X1
	// was tried. Without the embedded roots the pool is empty: no candidate is named.
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{fakeISRGCert(t)}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, tlsPort, _ := strings.Cut(strings.TrimPrefix(srv.URL, "https://"), ":")
	_, stderr := run(1, "/grenache-get", "--tls", "-g", "localhost", "-p", tlsPort, strings.Repeat("0", 40))
	if !strings.Contains(stderr, "x509: certificate signed by unknown authority (possibly because of") ||
		!strings.Contains(stderr, `while trying to verify candidate authority certificate "ISRG Root X1"`) {
		t.Errorf("get --tls in the image: %q, want the embedded ISRG Root X1 tried and refused", stderr)
	}
}

// buildHere builds a static grenache and its image into a temporary folder.
func buildHere(t *testing.T, applets []string) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "grenache")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	archive := filepath.Join(dir, "image.tar")
	if err := run(bin, applets, archive, "grenache:test"); err != nil {
		t.Fatalf("building the image: %v", err)
	}
	return archive
}

// makefileApplets returns the Makefile's APPLETS.
func makefileApplets(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":="); ok && strings.TrimSpace(k) == "APPLETS" {
			return strings.Fields(v)
		}
	}
	t.Fatalf("the Makefile has no APPLETS := line")
	return nil
}

// listTar describes every entry of a tar stream: name, type, mode, owner, time.
func listTar(t *testing.T, r io.Reader) []string {
	t.Helper()
	var l []string
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return l
		}
		if err != nil {
			t.Fatal(err)
		}
		kind := map[byte]string{tar.TypeReg: "reg", tar.TypeSymlink: "symlink->" + h.Linkname}[h.Typeflag]
		if kind == "" {
			kind = "type " + string(h.Typeflag)
		}
		l = append(l, fmt.Sprintf("%s %s %04o %d:%d %s", h.Name, kind, h.Mode, h.Uid, h.Gid, h.ModTime.UTC().Format(time.RFC3339)))
	}
}

// exportRoot writes the image's flattened filesystem to dir: regular files and links
// only, which is all it may hold.
func exportRoot(t *testing.T, img v1.Image, dir string) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			if err == nil {
				err = os.WriteFile(p, b, fs.FileMode(h.Mode))
			}
			if err != nil {
				t.Fatal(err)
			}
		case tar.TypeSymlink:
			if err := os.Symlink(h.Linkname, p); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("the image holds %s of type %q", h.Name, h.Typeflag)
		}
	}
	info, err := os.Stat(filepath.Join(dir, "grenache"))
	if err != nil || info.Mode().Perm() != 0o755 {
		t.Fatalf("exported /grenache: %v, %v", info, err)
	}
}

func configDigest(img v1.Image) (v1.Hash, error) { return img.ConfigName() }

func layerDigest(img v1.Image) (v1.Hash, error) {
	l, err := img.Layers()
	if err != nil || len(l) != 1 {
		return v1.Hash{}, errors.Join(err, errors.New("not one layer"))
	}
	return l[0].Digest()
}

// fakeISRGCert returns a certificate for localhost whose issuer is ISRG Root X1, as the
// embedded roots name it, signed by a key of its own.
func fakeISRGCert(t *testing.T) tls.Certificate {
	t.Helper()
	var isrg *x509.Certificate
	for r := range bundle.Roots() {
		c, err := x509.ParseCertificate(r.Certificate)
		if err == nil && c.Subject.CommonName == "ISRG Root X1" {
			isrg = c
		}
	}
	if isrg == nil {
		t.Fatal("ISRG Root X1 is not among the embedded roots")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	issuer := &x509.Certificate{RawSubject: isrg.RawSubject, SubjectKeyId: isrg.SubjectKeyId}
	der, err := x509.CreateCertificate(rand.Reader, leaf, issuer, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }
