# compare: `make bench-compare`, modelfn side by side with what a team would
# otherwise deploy (FastAPI + uvicorn + xgboost, a Python process, pandas,
# scipy, onnxruntime), same machine, same run, one table of ratios (issue 8).
# The programs live in testing/compare; results in testing/compare/results.
#
# Not in BENCH_TARGETS: it runs for about 35 minutes, writes 10M-row CSVs
# (several GB, deleted afterwards) and re-runs bench-drift and bench-onnx.
# It first waits (up to an hour) for the 1-minute load average to fall
# below 1.0, as figures from a busy machine say little.

# uvloop and httptools: what `pip install uvicorn[standard]` adds, so the
# Python server is measured at its best.
COMPARE_APT := python3-uvloop python3-httptools
BENCH_COMPARE_FLAGS ?= -wait-load 1.0 -wait-max 1h

.PHONY: tools-compare bench-compare pgo

## tools-compare: Debian's uvloop and httptools for uvicorn (apt-get only when missing)
tools-compare: tools-apt
	@missing=$$(for p in $(COMPARE_APT); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "apt-get install $$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

## bench-compare: the side-by-side table (BENCH_COMPARE_FLAGS="-sections http,cold -runs 3" for a part)
bench-compare: tools-compare tools-aws-rie tools-versitygw tools-onnx
	$(GO) run ./testing/compare/benchcompare $(BENCH_COMPARE_FLAGS)

## pgo: remake cmd/modelfn/default.pgo, the profile go build optimizes modelfn with,
## from modelfn serve and batch under the comparison's loads (a few minutes; commit the file)
pgo: tools-compare
	$(GO) run ./testing/compare/benchcompare -sections http,batch -runs 1 -long-runs 1 -sizes 1000000 -out "" -pgo $(CURDIR)/cmd/modelfn/default.pgo
