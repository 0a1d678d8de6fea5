# gcp: the Cloud Functions adapter, the Cloud Monitoring driver and the
# source archive. Its tests compile the archive offline, run the three
# entry points in functions-framework-go's server against fake-gcs-server
# (Cloud Storage on loopback) and a loopback gRPC MetricService.

FAKE_GCS_VERSION := v1.56.1

.PHONY: tools-fake-gcs-server test-gcp

# gcp-installed: true when .bin/$(1) was built from module $(2) at version $(3).
gcp-installed = "$(GO)" version -m "$(BIN)/$(1)" 2>/dev/null | grep -qE '^[[:space:]]+mod[[:space:]]+$(2)[[:space:]]+$(3)([[:space:]]|$$)'

## tools-fake-gcs-server: fake-gcs-server (Cloud Storage emulator) into .bin (skipped when that version is there)
tools-fake-gcs-server:
	@if ! $(call gcp-installed,fake-gcs-server,github.com/fsouza/fake-gcs-server,$(FAKE_GCS_VERSION)); then \
	  echo "go install fake-gcs-server@$(FAKE_GCS_VERSION)"; \
	  GOBIN=$(BIN) $(GO) install github.com/fsouza/fake-gcs-server@$(FAKE_GCS_VERSION); \
	fi

TEST_TOOLS += tools-fake-gcs-server

## test-gcp: the Google Cloud provider's tests with its tools installed
test-gcp: tools-fake-gcs-server
	MODELFN_REQUIRE_TOOLS=1 $(GO) test -race ./providers/gcp/...
