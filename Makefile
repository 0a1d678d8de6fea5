# modelfn — two commands on a fresh machine: `make run` and `make test`.
#
# Every tool a test needs is installed here, pinned, into .bin (Go tools),
# .tools/node_modules (npm tools) or by apt-get (Debian packages). Area-specific
# targets live in mk/*.mk and append their tool targets to TEST_TOOLS.

SHELL        := /bin/bash
GO           ?= go
BIN          := $(CURDIR)/.bin
TOOLS        := $(CURDIR)/.tools
export PATH  := $(BIN):$(TOOLS)/node_modules/.bin:$(PATH)
export GOBIN := $(BIN)
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
EXAMPLE      := examples/breast-cancer
BUNDLE       := $(EXAMPLE)/bundle

# Debian packages the fixtures, comparisons and browser tests use.
APT_PACKAGES := python3-xgboost python3-sklearn python3-scipy python3-numpy python3-pandas \
                python3-onnx python3-fastapi python3-uvicorn chromium wrk libonnx-testdata nodejs

# Area fragments (mk/*.mk) append to these.
TEST_TOOLS   :=
BENCH_TARGETS :=
FUZZ_TARGETS  :=
FUZZTIME     ?= 30s
include $(sort $(wildcard mk/*.mk))

.PHONY: run test vet bench bench-go fuzz tools tools-apt clean example deploy destroy

## run: serve the example bundle locally (predict, batch watcher, monitor schedule)
run:
	$(GO) run ./cmd/modelfn serve --bundle $(BUNDLE) --addr 127.0.0.1:8080 --data .run

## deploy: make deploy CLOUD=aws|gcp|azure [BUNDLE=dir] [ARGS="--region eu-west-1 ..."]
deploy: tools-terraform
	@test -n "$(CLOUD)" || { echo "usage: make deploy CLOUD=aws|gcp|azure [BUNDLE=dir] [ARGS=...]"; exit 2; }
	$(GO) run ./cmd/modelfn deploy --cloud $(CLOUD) --bundle $(BUNDLE) $(ARGS)

## destroy: make destroy CLOUD=aws|gcp|azure [BUNDLE=dir]
destroy: tools-terraform
	@test -n "$(CLOUD)" || { echo "usage: make destroy CLOUD=aws|gcp|azure [BUNDLE=dir]"; exit 2; }
	$(GO) run ./cmd/modelfn destroy --cloud $(CLOUD) --bundle $(BUNDLE) $(ARGS)

## example: retrain the example model with xgboost and rebuild the example bundles (committed)
example: tools-apt
	/usr/bin/python3 $(EXAMPLE)/train.py
	$(GO) run ./cmd/modelfn init --force --model $(EXAMPLE)/model.json --reference $(EXAMPLE)/reference.csv \
	  --target target --validation $(EXAMPLE)/holdout.csv --classes malignant,benign --name breast-cancer --dir $(BUNDLE)
	cp runtime/onnx/testdata/pipeline_breast.onnx examples/breast-cancer-onnx/model.onnx
	cp runtime/onnx/testdata/pipeline_breast.reference.csv examples/breast-cancer-onnx/reference.csv
	$(GO) run ./cmd/modelfn init --force --model examples/breast-cancer-onnx/model.onnx \
	  --reference examples/breast-cancer-onnx/reference.csv --target target --name breast-cancer-onnx --dir examples/breast-cancer-onnx/bundle

## test: vet, format check and every test with the race detector, tools installed first
test: tools vet
	MODELFN_REQUIRE_TOOLS=1 $(GO) test -race -timeout 40m ./...
	@# Without the race detector and with the profile modelfn is built with
	@# (its inlining moves values): the allocation counts (the detector's
	@# sync.Pool drops items), and the whole local server as it is built,
	@# on recvfrom and sendto (under the detector it keeps net's read and write).
	$(GO) test -pgo=$(CURDIR)/cmd/modelfn/default.pgo -count 1 -run 'Allocations$$|NoGarbage$$' ./runtime/...
	$(GO) test -pgo=$(CURDIR)/cmd/modelfn/default.pgo -count 1 ./providers/local/

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^vendor/')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

tools: tools-apt $(TEST_TOOLS)

## bench: Go benchmarks of every package, then each area's comparison scripts
bench: tools bench-go $(BENCH_TARGETS)

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./...

## fuzz: each fuzz target for FUZZTIME (default 30s), corpus committed under testdata/fuzz
fuzz: $(FUZZ_TARGETS)

# apt-get only when a package is missing, so a second `make test` stays offline.
tools-apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "apt-get install $$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

clean:
	rm -rf .bin .tools .run dist
