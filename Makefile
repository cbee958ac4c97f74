# grenache: build, test, benchmark, install.
# Every target that needs real grapes installs them itself (npm ci from the
# committed lock file into scripts/node_modules) and starts them on loopback.

PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
BASHDIR  ?= $(PREFIX)/share/bash-completion/completions
ZSHDIR   ?= $(PREFIX)/share/zsh/site-functions
FISHDIR  ?= $(PREFIX)/share/fish/vendor_completions.d
DESTDIR  ?=
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
GO       ?= go
APPLETS  := keygen put get lookup announce request
LDFLAGS  := -s -w -X grenache/applets.Version=$(VERSION)
# Fuzzing runs a count of inputs per target, not a duration: with -fuzztime as a
# duration, Go's fuzzer can end a run with "context deadline exceeded" when a worker
# is busy at the deadline on a loaded machine, failing a target that found nothing.
FUZZTIME ?= 50000x
DOCS     := build/docs
# The command names: the binary and a link per applet.
COMMANDS := grenache $(addprefix grenache-,$(APPLETS))

.PHONY: all build docs deps test unit fuzz install install-check uninstall demo grapes bench scale clean

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
# urfave/cli, which parses one command line per run, is compiled without
# inlining too: 12 KB less, no difference hyperfine can see in a run's time.
build:
	CGO_ENABLED=0 $(GO) build -tags urfave_cli_no_docs,nethttpomithttp2 -gcflags 'text/template/...=-l' -gcflags 'github.com/urfave/cli/v2=-l' -trimpath -ldflags '$(LDFLAGS)' -o grenache .

# Man pages and bash, zsh and fish completion, generated from the applets'
# definitions (what --help shows) by scripts/gendocs, which the binary does not
# link: see scripts/gendocs/main.go for the files.
docs:
	rm -rf $(DOCS)
	$(GO) run ./scripts/gendocs -out $(DOCS) -version '$(VERSION)'

# The grape network's Node packages, pinned by scripts/package-lock.json.
# `go run ./scripts/grapes` starts a network (see its comment).
NODE_MISSING := Node.js runs the grapes: install it (Debian: apt-get install nodejs npm)
grapes: scripts/node_modules/.package-lock.json
	@command -v node >/dev/null || { echo "make: $(NODE_MISSING)" >&2; exit 1; }
scripts/node_modules/.package-lock.json: scripts/package.json scripts/package-lock.json
	@command -v npm >/dev/null || { echo "make: $(NODE_MISSING)" >&2; exit 1; }
	npm ci --prefix scripts --no-audit --no-fund

# Tools the tests run besides Go and Node: jq (scripts/counter.sh) and
# Debian's python3-libtorrent, run by Debian's own /usr/bin/python3 (not a
# pyenv or venv python3 on PATH) for the interop node scripts/ltnode.py. A
# fresh Debian machine (CI) lacks them; as root they are installed, else the
# test that needs one fails and says how to install it.
deps:
	@command -v jq >/dev/null || { [ "$$(id -u)" -ne 0 ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq; }; }
	@/usr/bin/python3 -c 'import libtorrent' 2>/dev/null || { [ "$$(id -u)" -ne 0 ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-libtorrent; }; }

# The whole suite: vet, unit, CLI and integration tests (real grapes), with
# the race detector, then each fuzz target for $(FUZZTIME). scripts/gotest is
# go test -json ARGS, shown as one line per package as each finishes.
test: grapes deps
	@echo "make test: 1/5 go vet"
	$(GO) vet -tags integration ./...
	@echo "make test: 2/5 go test (a few minutes: grenache/applets runs the CLI against real grapes)"
	$(GO) run ./scripts/gotest -race -count=1 -tags integration ./...
	@echo "make test: 3/5 fuzz, $(FUZZTIME) per target"
	@$(MAKE) -s fuzz
	@echo "make test: 4/5 install-check"
	@$(MAKE) -s install-check
	@echo "make test: 5/5 image-check (the FROM scratch image, run with unshare)"
	@$(MAKE) -s image-check

# Installs into a scratch DESTDIR: the binary must be static, every link must
# run its applet, every command name must have its man page and completion
# files, and uninstall must leave nothing behind.
install-check: build
	@set -e; d=$$(mktemp -d); trap 'rm -rf "$$d"' EXIT; \
	$(GO) version -m grenache | grep -q 'CGO_ENABLED=0' || { echo "install-check: grenache is not static" >&2; exit 1; }; \
	$(MAKE) -s install DESTDIR="$$d" PREFIX=/usr >/dev/null; \
	for a in $(APPLETS); do \
	  [ "$$(readlink "$$d/usr/bin/grenache-$$a")" = grenache ] || { echo "install-check: grenache-$$a is not a relative link" >&2; exit 1; }; \
	  "$$d/usr/bin/grenache-$$a" --help | grep -q "^usage: grenache-$$a " || { echo "install-check: grenache-$$a does not run its applet" >&2; exit 1; }; \
	done; \
	for c in $(COMMANDS); do \
	  for f in man/man1/$$c.1 bash-completion/completions/$$c fish/vendor_completions.d/$$c.fish zsh/site-functions/_grenache; do \
	    [ -s "$$d/usr/share/$$f" ] || { echo "install-check: share/$$f is not installed" >&2; exit 1; }; \
	  done; \
	done; \
	$(MAKE) -s uninstall DESTDIR="$$d" PREFIX=/usr >/dev/null; \
	left=$$(find "$$d" ! -type d); [ -z "$$left" ] || { echo "install-check: uninstall left $$left" >&2; exit 1; }; \
	echo "install-check: static binary, $(words $(APPLETS)) links, man pages and completion for $(words $(COMMANDS)) commands, clean uninstall: ok"

# The tests that need nothing but Go: go test ./... without the integration
# tag, which the tests that start real grapes (Node) carry.
unit:
	$(GO) vet ./...
	$(GO) test -count=1 ./...

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
	$(GO) test -count=1 -tags integration ./scripts/image -args -image '$(CURDIR)/grenache-image.tar' -applets '$(APPLETS)'

fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

demo: grapes build
	scripts/demo.sh ./grenache

# Process-level timings of the static binary against one-shot curl, with
# hyperfine, on grapes of its own (free loopback ports), and the Go benchmarks
# for in-process costs; writes docs/bench.md. Then the scale run (make scale),
# which writes docs/scale.md. As root it installs curl and hyperfine when
# missing. BASELINE=PATH also times another build (an earlier grenache) in the
# same runs. BENCHFLAGS passes options, e.g. BENCHFLAGS="-runs 30";
# see scripts/bench/main.go.
bench: grapes build
	@for t in curl hyperfine; do command -v $$t >/dev/null && continue; \
	  if [ "$$(id -u)" -eq 0 ]; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$t || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$t; } || exit 1; \
	  else echo "make bench needs $$t: sudo apt-get install $$t" >&2; exit 1; fi; done
	$(GO) run ./scripts/bench -bin ./grenache $(if $(BASELINE),-baseline $(BASELINE)) -out docs/bench.md $(BENCHFLAGS)
	$(GO) run ./scripts/scale -bin ./grenache -o docs/scale.md $(SCALEFLAGS)

# The network at scale: 20 grapes on loopback, 200 items put and got through
# random grapes by grenache processes, over each transport (-g, --dht), then a
# third of the grapes stopped; writes docs/scale.md. Bounded by -deadline (10
# minutes); SCALEFLAGS passes options, e.g. SCALEFLAGS="-grapes 30 -items 500"
# or SCALEFLAGS="-transports http"; see scripts/scale/main.go.
scale: grapes build
	$(GO) run ./scripts/scale -bin ./grenache -o docs/scale.md $(SCALEFLAGS)

install: build docs
	install -d '$(DESTDIR)$(BINDIR)' '$(DESTDIR)$(MANDIR)/man1' '$(DESTDIR)$(BASHDIR)' '$(DESTDIR)$(ZSHDIR)' '$(DESTDIR)$(FISHDIR)'
	install -m 0755 grenache '$(DESTDIR)$(BINDIR)/grenache'
	for a in $(APPLETS); do ln -sfn grenache '$(DESTDIR)$(BINDIR)'/grenache-$$a; done
	for c in $(COMMANDS); do \
	  install -m 0644 $(DOCS)/man/$$c.1 '$(DESTDIR)$(MANDIR)/man1' && \
	  install -m 0644 $(DOCS)/bash/$$c '$(DESTDIR)$(BASHDIR)' && \
	  install -m 0644 $(DOCS)/fish/$$c.fish '$(DESTDIR)$(FISHDIR)' || exit 1; \
	done
	install -m 0644 $(DOCS)/zsh/_grenache '$(DESTDIR)$(ZSHDIR)'

uninstall:
	rm -f '$(DESTDIR)$(BINDIR)/grenache'
	for a in $(APPLETS); do rm -f '$(DESTDIR)$(BINDIR)'/grenache-$$a; done
	for c in $(COMMANDS); do \
	  rm -f '$(DESTDIR)$(MANDIR)/man1'/$$c.1 '$(DESTDIR)$(BASHDIR)'/$$c '$(DESTDIR)$(FISHDIR)'/$$c.fish; \
	done
	rm -f '$(DESTDIR)$(ZSHDIR)/_grenache'

clean:
	rm -f grenache grenache-image.tar
	rm -rf $(DOCS)
