// Command image builds grenache's container image, FROM scratch: one layer holding the
// static binary as /grenache and, for each applet, a relative link /grenache-APPLET to
// it; nothing else (no shell, no /etc). It needs no container daemon.
//
//	go run ./scripts/image -bin ./grenache -applets 'keygen put get' -out grenache-image.tar
//
// The output is an image archive for docker load or podman load (the format docker save
// writes), tagged -tag. The image runs /grenache; its key pair and state go under /data
// (XDG_CONFIG_HOME=/data/config, XDG_STATE_HOME=/data/state), for a volume to hold. Its
// platform is the binary's (linux and the GOARCH it was built for). The same binary
// gives the same image, byte for byte: every time in it is the Unix epoch.
package main

import (
	"archive/tar"
	"bytes"
	"debug/buildinfo"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Binary is where the image holds grenache; Entrypoint runs it.
const Binary = "/grenache"

// Data is the folder a volume holds: the key pair and the state.
const Data = "/data"

// Env is the image's environment.
var Env = []string{"XDG_CONFIG_HOME=" + Data + "/config", "XDG_STATE_HOME=" + Data + "/state"}

// epoch is every time in the image.
var epoch = time.Unix(0, 0).UTC()

func main() {
	bin := flag.String("bin", "grenache", "the static grenache `binary`")
	applets := flag.String("applets", "", "the applets, separated by spaces (the Makefile's APPLETS)")
	out := flag.String("out", "grenache-image.tar", "the image archive to write")
	tag := flag.String("tag", "grenache:latest", "the image's name in the archive")
	flag.Parse()
	if flag.NArg() > 0 || *applets == "" {
		fmt.Fprintln(os.Stderr, "usage: image -bin BINARY -applets 'keygen put get' [-out FILE] [-tag NAME:TAG]")
		os.Exit(2)
	}
	if err := run(*bin, strings.Fields(*applets), *out, *tag); err != nil {
		fmt.Fprintf(os.Stderr, "image: error: %v\n", err)
		os.Exit(1)
	}
}

func run(bin string, applets []string, out, tag string) error {
	ref, err := name.NewTag(tag)
	if err != nil {
		return err
	}
	img, err := Build(bin, applets)
	if err != nil {
		return err
	}
	tmp := out + ".tmp"
	if err := tarball.WriteToFile(tmp, ref, img); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, out)
}

// Build returns the image of the grenache binary at bin with a link for each applet.
// The binary must be static (CGO_ENABLED=0) and built for Linux.
func Build(bin string, applets []string) (v1.Image, error) {
	goos, goarch, variant, err := platform(bin)
	if err != nil {
		return nil, err
	}
	exe, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	files, err := layerTar(exe, applets)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(files)), nil
	})
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   v1.Time{Time: epoch},
			CreatedBy: "scripts/image: " + Binary + " and " + strings.Join(links(applets), " "),
		},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = goos, goarch, variant
	cf.Created = v1.Time{Time: epoch}
	cf.Config = v1.Config{Entrypoint: []string{Binary}, Env: Env}
	return mutate.ConfigFile(img, cf)
}

// links returns the paths of the applets' links.
func links(applets []string) []string {
	var l []string
	for _, a := range applets {
		l = append(l, Binary+"-"+a)
	}
	return l
}

// platform reads where bin runs from the build information Go keeps in it, and refuses
// a binary that is not static or not for Linux: a FROM scratch image has no libc.
func platform(bin string) (goos, goarch, variant string, err error) {
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		return "", "", "", fmt.Errorf("%s: not a Go binary: %w", bin, err)
	}
	s := map[string]string{}
	for _, kv := range info.Settings {
		s[kv.Key] = kv.Value
	}
	switch {
	case s["CGO_ENABLED"] != "0":
		return "", "", "", fmt.Errorf("%s is not static: build it with CGO_ENABLED=0 (make build)", bin)
	case s["GOOS"] != "linux":
		return "", "", "", fmt.Errorf("%s is built for %q, not linux", bin, s["GOOS"])
	case s["GOARCH"] == "":
		return "", "", "", fmt.Errorf("%s: no GOARCH in its build information", bin)
	}
	if s["GOARCH"] == "arm" {
		variant = "v" + strings.TrimSuffix(strings.TrimSuffix(s["GOARM"], ",softfloat"), ",hardfloat")
	}
	return s["GOOS"], s["GOARCH"], variant, nil
}

// layerTar returns the layer: the binary (0755) and a relative link to it for each
// applet, owned by root, dated the epoch.
func layerTar(exe []byte, applets []string) ([]byte, error) {
	if len(applets) == 0 {
		return nil, errors.New("no applets")
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	base := strings.TrimPrefix(Binary, "/")
	hdrs := []*tar.Header{{Typeflag: tar.TypeReg, Name: base, Mode: 0o755, Size: int64(len(exe))}}
	seen := map[string]bool{}
	for _, a := range applets {
		if a == "" || strings.ContainsAny(a, "/ ") || seen[a] {
			return nil, fmt.Errorf("applet %q: empty, repeated or not a file name", a)
		}
		seen[a] = true
		hdrs = append(hdrs, &tar.Header{Typeflag: tar.TypeSymlink, Name: base + "-" + a, Linkname: base, Mode: 0o777})
	}
	for i, h := range hdrs {
		h.ModTime, h.Format = epoch, tar.FormatUSTAR
		h.Uname, h.Gname = "root", "root"
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if i == 0 {
			if _, err := tw.Write(exe); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
