# infra: the Terraform driver, the root-module writer and the per-cloud modules.
# Their tests drive a real terraform (pinned; the one on a developer's PATH may
# differ) and scan the generated configuration with trivy.

TERRAFORM_VERSION := 1.5.7
TRIVY_VERSION     := 0.74.0
TFSEC_VERSION     := 1.26.0

.PHONY: tools-terraform tools-trivy tools-tfsec test-infra

## tools-terraform: terraform v$(TERRAFORM_VERSION) into .bin (skipped when that version is there)
tools-terraform:
	@if ! "$(BIN)/terraform" version 2>/dev/null | head -1 | grep -qx 'Terraform v$(TERRAFORM_VERSION)'; then \
	  echo "go install terraform@v$(TERRAFORM_VERSION)"; \
	  GOBIN=$(BIN) $(GO) install github.com/hashicorp/terraform@v$(TERRAFORM_VERSION); \
	fi

## tools-trivy: trivy v$(TRIVY_VERSION) into .bin (a long build: several minutes on 2 cores)
tools-trivy:
	@if ! "$(BIN)/trivy" --version 2>/dev/null | grep -qx 'Version: $(TRIVY_VERSION)'; then \
	  echo "go install trivy@v$(TRIVY_VERSION)"; \
	  GOEXPERIMENT=jsonv2 GOBIN=$(BIN) $(GO) install -ldflags "-X github.com/aquasecurity/trivy/pkg/version/app.ver=$(TRIVY_VERSION)" \
	    github.com/aquasecurity/trivy/cmd/trivy@v$(TRIVY_VERSION); \
	fi

## tools-tfsec: tfsec v$(TFSEC_VERSION), the older rule set (optional, not in TEST_TOOLS)
tools-tfsec:
	@if ! "$(BIN)/tfsec" --version 2>/dev/null | grep -q '$(TFSEC_VERSION)'; then \
	  GOBIN=$(BIN) $(GO) install -ldflags "-X github.com/aquasecurity/tfsec/version.Version=v$(TFSEC_VERSION)" \
	    github.com/aquasecurity/tfsec/cmd/tfsec@v$(TFSEC_VERSION); \
	fi

TEST_TOOLS += tools-terraform tools-trivy

## test-infra: the infra package's tests with its tools installed
test-infra: tools-terraform tools-trivy
	MODELFN_REQUIRE_TOOLS=1 $(GO) test -race ./infra/...
