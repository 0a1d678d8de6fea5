# aws: the Lambda adapter, the CloudWatch driver and the AWS artifact. Its
# tests run the real bootstrap under the Lambda Runtime Interface Emulator
# (x86-64 only, so tests build an amd64 bootstrap) against versitygw, an
# S3-compatible server on loopback.

AWS_RIE_VERSION   := v0.0.0-20261030222936-bef5c4ba774d
VERSITYGW_VERSION := v1.8.0

.PHONY: tools-aws-rie tools-versitygw test-aws

# go-installed: true when .bin/$(1) was built from module $(2) at version $(3).
go-installed = "$(GO)" version -m "$(BIN)/$(1)" 2>/dev/null | grep -qE '^[[:space:]]+mod[[:space:]]+$(2)[[:space:]]+$(3)([[:space:]]|$$)'

## tools-aws-rie: the AWS Lambda Runtime Interface Emulator into .bin (skipped when that version is there)
tools-aws-rie:
	@if ! $(call go-installed,aws-lambda-rie,github.com/aws/aws-lambda-runtime-interface-emulator,$(AWS_RIE_VERSION)); then \
	  echo "go install aws-lambda-rie@$(AWS_RIE_VERSION)"; \
	  GOBIN=$(BIN) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(AWS_RIE_VERSION); \
	fi

## tools-versitygw: versitygw (S3 gateway, posix backend) into .bin (skipped when that version is there)
tools-versitygw:
	@if ! $(call go-installed,versitygw,github.com/versity/versitygw,$(VERSITYGW_VERSION)); then \
	  echo "go install versitygw@$(VERSITYGW_VERSION)"; \
	  GOBIN=$(BIN) $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION); \
	fi

TEST_TOOLS += tools-aws-rie tools-versitygw

## test-aws: the AWS provider's tests with its tools installed
test-aws: tools-aws-rie tools-versitygw
	MODELFN_REQUIRE_TOOLS=1 $(GO) test -race ./providers/aws/...

