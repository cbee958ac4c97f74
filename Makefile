# grenache: build, test, benchmark, install.
# Every target that needs real grapes installs them itself (npm ci from the
# committed lock file into scripts/node_modules) and starts them on loopback.

PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
DESTDIR  ?=
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
GO       ?= go
APPLETS  := keygen put get
LDFLAGS  := -s -w -X grenache/applets.Version=$(VERSION)
FUZZTIME ?= 5s

.PHONY: all build deps test unit fuzz install install-check uninstall demo grapes bench clean

all: build

# urfave_cli_no_docs leaves out urfave/cli's man and markdown generators, whose
# dependencies (blackfriday, go-md2man) compiled regexps and filled maps at the
# start of every run: 0.3 ms and 760 allocations, and 330 KB of binary.
# nethttpomithttp2 leaves out net/http's HTTP/2 (380 KB), which grapes do not
# speak; grape.NewHTTP asks for HTTP/1.1 either way.
# text/template, which urfave/cli runs for --help only, is compiled without
# inlining (41 KB less; no other run executes it). It is also why the binary is
# 8 MB rather than 6: its reflective method calls make the linker keep every
# exported method of every type in the program.
build:
	CGO_ENABLED=0 $(GO) build -tags urfave_cli_no_docs,nethttpomithttp2 -gcflags 'text/template/...=-l' -trimpath -ldflags '$(LDFLAGS)' -o grenache .

# The grape network's Node packages, pinned by scripts/package-lock.json.
grapes: scripts/node_modules/.package-lock.json
scripts/node_modules/.package-lock.json: scripts/package.json scripts/package-lock.json
	npm ci --prefix scripts --no-audit --no-fund

# Tools the tests run besides Go and Node: jq (scripts/counter.sh). A fresh
# Debian machine (CI) lacks it; as root it is installed, else the test that
# needs it fails and says how to install it.
deps:
	@command -v jq >/dev/null || { [ "$$(id -u)" -ne 0 ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq; }; }

# The whole suite: vet, unit, CLI and integration tests (real grapes), with
# the race detector, then each fuzz target for $(FUZZTIME).
test: deps grapes
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	$(MAKE) fuzz
	$(MAKE) install-check
	$(MAKE) image-check

# Installs into a scratch DESTDIR: the binary must be static, every link must
# run its applet, and uninstall must leave nothing behind.
install-check: build
	@set -e; d=$$(mktemp -d); trap 'rm -rf "$$d"' EXIT; \
	$(GO) version -m grenache | grep -q 'CGO_ENABLED=0' || { echo "install-check: grenache is not static" >&2; exit 1; }; \
	$(MAKE) -s install DESTDIR="$$d" PREFIX=/usr >/dev/null; \
	for a in $(APPLETS); do \
	  [ "$$(readlink "$$d/usr/bin/grenache-$$a")" = grenache ] || { echo "install-check: grenache-$$a is not a relative link" >&2; exit 1; }; \
	  "$$d/usr/bin/grenache-$$a" --help | grep -q "^usage: grenache-$$a " || { echo "install-check: grenache-$$a does not run its applet" >&2; exit 1; }; \
	done; \
	$(MAKE) -s uninstall DESTDIR="$$d" PREFIX=/usr >/dev/null; \
	[ -z "$$(ls -A "$$d/usr/bin")" ] || { echo "install-check: uninstall left $$(ls "$$d/usr/bin")" >&2; exit 1; }; \
	echo "install-check: static binary, $(words $(APPLETS)) links, clean uninstall: ok"

# A container image FROM scratch holding the static binary and its applet links,
# nothing else, as an archive for docker load or podman load; built by
# scripts/image (go-containerregistry, no daemon), byte for byte the same for the
# same binary.
.PHONY: image image-check
image: build
	$(GO) run ./scripts/image -bin grenache -applets '$(APPLETS)' -out grenache-image.tar

# The binary's size budget (16 MB), then the image make image wrote, checked and
# run against real grapes by scripts/image's test (as root: it uses unshare).
image-check: image grapes
	@s=$$(stat -c %s grenache); [ "$$s" -le $$((16 << 20)) ] || { echo "image-check: grenache is $$s bytes, over the 16 MB budget" >&2; exit 1; }
	$(GO) test -count=1 ./scripts/image -args -image '$(CURDIR)/grenache-image.tar' -applets '$(APPLETS)'

fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

demo: build grapes
	scripts/demo.sh ./grenache

# Measures the static binary against curl and an in-process client on grapes of
# its own (API ports 32001-32002, DHT ports 22001-22002), then prints one
# markdown report; bench-results/ gets bench.json, bench.csv and the Go
# benchmarks' output. BENCHFLAGS passes options, e.g. BENCHFLAGS="-runs 50";
# see scripts/bench/main.go.
bench: build grapes
	@command -v curl >/dev/null || { \
	  if [ "$$(id -u)" -eq 0 ]; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl; }; \
	  else echo "make bench needs curl: sudo apt-get install curl" >&2; exit 1; fi; }
	@mkdir -p bench-results
	@echo "go test -run '^$$' -bench . -benchmem ./bep44 ./grape"
	@$(GO) test -run '^$$' -bench . -benchmem ./bep44 ./grape >bench-results/gobench.txt; s=$$?; cat bench-results/gobench.txt; exit $$s
	$(GO) run ./scripts/bench -bin ./grenache -out bench-results -gobench bench-results/gobench.txt $(BENCHFLAGS)

install: build
	install -d '$(DESTDIR)$(BINDIR)'
	install -m 0755 grenache '$(DESTDIR)$(BINDIR)/grenache'
	for a in $(APPLETS); do ln -sfn grenache '$(DESTDIR)$(BINDIR)'/grenache-$$a; done

uninstall:
	rm -f '$(DESTDIR)$(BINDIR)/grenache'
	for a in $(APPLETS); do rm -f '$(DESTDIR)$(BINDIR)'/grenache-$$a; done

clean:
	rm -f grenache grenache-image.tar
