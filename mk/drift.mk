# drift: the drift engine library (drift/...) and its comparison with scipy.
# Its tests need Debian's python3-scipy/numpy/sklearn (fixture reproducibility)
# and chromium (the HTML report), both installed by tools-apt; nothing else.

.PHONY: test-drift bench-drift fuzz-drift

## test-drift: the drift packages' tests with the race detector
test-drift: tools-apt
	MODELFN_REQUIRE_TOOLS=1 $(GO) test -race ./drift/...

## bench-drift: full report over 1M rows x 20 features, Go against scipy/numpy, and the ratio
bench-drift:
	$(GO) build -o $(BIN)/benchdrift ./testing/drift/benchdrift
	/usr/bin/python3 testing/drift/bench_driver.py $(BIN)/benchdrift 1000000 20

## fuzz-drift: profile JSON decoding (FUZZTIME each)
fuzz-drift:
	$(GO) test -run '^$$' -fuzz '^FuzzProfileJSON$$' -fuzztime $(FUZZTIME) ./drift/

BENCH_TARGETS += bench-drift
FUZZ_TARGETS  += fuzz-drift
