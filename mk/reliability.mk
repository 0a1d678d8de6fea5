# reliability: `make reliability` runs testing/reliability in full and prints
# its summary table; `make test` runs the same tests at their fast size
# (5,000 requests, one kill -9 round, one outage per store). `make fuzz-core`
# fuzzes every decoder of outside input: request bodies, batch objects, log
# objects, bundle manifests and model files, and the log's own gzip writer.

.PHONY: reliability fuzz-core

## reliability: load, crash, storage-fault and hostile-input tests at full size, then the summary table
reliability: tools-versitygw
	$(GO) test -c -o $(BIN)/reliability.test ./testing/reliability
	cd testing/reliability && MODELFN_REQUIRE_TOOLS=1 MODELFN_RELIABILITY=full $(BIN)/reliability.test -test.timeout 60m

# package:FuzzTarget; `go test -fuzz` takes one target per run. New
# interesting inputs stay in GOCACHE; a failing one lands in the package's
# testdata/fuzz, where `go test` replays it from then on.
CORE_FUZZ := ./functions/predict:FuzzPredict ./functions/batch:FuzzScore ./functions/predlog:FuzzRead ./functions/predlog:FuzzEncoderCompress \
             ./runtime:FuzzCSVRows ./runtime:FuzzParseNumber ./runtime:FuzzScanInstances ./runtime/xgboost:FuzzOpen ./runtime/bundle:FuzzLoad

## fuzz-core: the request, batch, log, manifest and model decoders (FUZZTIME each)
fuzz-core:
	@set -e; for t in $(CORE_FUZZ); do \
	  echo "fuzz $${t##*:} in $${t%%:*} for $(FUZZTIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$${t##*:}$$" -fuzztime $(FUZZTIME) $${t%%:*}; \
	done

FUZZ_TARGETS += fuzz-core
