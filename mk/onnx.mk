# runtime/onnx: the onnxruntime reference (npm, pinned; --ignore-scripts keeps
# the CPU library the package carries instead of downloading CUDA parts),
# the loader fuzz target, and the speed comparison against onnxruntime.

ORT_NODE_VERSION := 1.30.0

.PHONY: tools-onnx fuzz-onnx bench-onnx onnx-fixtures

tools-onnx:
	@if [ "$$(node -p 'require("$(TOOLS)/node_modules/onnxruntime-node/package.json").version' 2>/dev/null)" != "$(ORT_NODE_VERSION)" ]; then \
	  npm install --prefix $(TOOLS) --ignore-scripts --no-audit --no-fund onnxruntime-node@$(ORT_NODE_VERSION) >/dev/null; \
	fi

TEST_TOOLS += tools-onnx

fuzz-onnx:
	$(GO) test -run '^$$' -fuzz FuzzLoad -fuzztime $(FUZZTIME) ./runtime/onnx/graph/

FUZZ_TARGETS += fuzz-onnx

## bench-onnx: modelfn's ONNX runtime against onnxruntime-node, same machine, same run
bench-onnx: tools-onnx
	$(GO) run ./testing/onnx/benchcmp

BENCH_TARGETS += bench-onnx

## onnx-fixtures: retrain the runtime/onnx fixture models (committed)
onnx-fixtures: tools-apt
	/usr/bin/python3 runtime/onnx/testdata/gen.py
	/usr/bin/python3 runtime/onnx/testdata/mlops/gen.py
