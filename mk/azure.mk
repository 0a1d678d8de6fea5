# azure: the Functions custom handler, the Azure Monitor (Logs Ingestion)
# driver and the Azure app zip. The tests build the zip, run its handler the
# way the Functions host does, against Azurite's blob service on loopback, a
# local Logs Ingestion endpoint over TLS and a managed-identity endpoint.

AZURITE_VERSION := 3.37.0

.PHONY: tools-azurite test-azure

## tools-azurite: Azurite (Blob Storage emulator) into .tools (skipped when that version is there)
tools-azurite:
	@if [ "$$(node -p 'require("$(TOOLS)/node_modules/azurite/package.json").version' 2>/dev/null)" != "$(AZURITE_VERSION)" ]; then \
	  echo "npm install azurite@$(AZURITE_VERSION)"; \
	  npm install --prefix "$(TOOLS)" --no-audit --no-fund --loglevel=error azurite@$(AZURITE_VERSION); \
	fi

TEST_TOOLS += tools-azurite

## test-azure: the Azure provider's tests with its tools installed
test-azure: tools-azurite
	MODELFN_REQUIRE_TOOLS=1 $(GO) test -race ./providers/azure/...
