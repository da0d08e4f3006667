# The two commands: `make run` serves the whole system locally, `make test` runs every check.
SHELL := /bin/bash
VENV := .venv
STAMP := $(VENV)/.installed
PORT ?= 3000

.PHONY: run test venv tools check lint fmt clippy cfn-lint unit build-runner bench lambda-build clean

$(STAMP): infra/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r infra/requirements.txt
	touch $(STAMP)

venv: $(STAMP)

## make run: local AWS (moto), every function behind http://127.0.0.1:$(PORT), demo data.
run: $(STAMP)
	cargo build -p local-runner --bin local-runner
	scripts/with-moto.sh ./target/debug/local-runner --port $(PORT)

## Debian tools the tests call: pdftoppm (poppler-utils) renders PDF pages to compare with references;
## FreeRADIUS with rlm_rest and radclient (freeradius, freeradius-rest, freeradius-utils) log in and
## account through the project's RADIUS configuration (infra/radius/), whose usage report
## (post-usage.sh) reads the session table with sqlite3 and posts it with curl; snmpd answers the SNMP
## monitoring tests (v2c and v3).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEBIAN_TOOLS := poppler-utils freeradius freeradius-rest freeradius-utils snmpd sqlite3 curl
tools:
	@{ command -v pdftoppm && command -v freeradius && command -v radclient && [ -e /usr/lib/freeradius/rlm_rest.so ] && command -v snmpd && command -v sqlite3 && command -v curl; } >/dev/null || { \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(DEBIAN_TOOLS) >/dev/null; }

## make test: formatting, lints, template lint, and every test against a private moto.
test: $(STAMP) tools fmt clippy cfn-lint
	scripts/test-summary.sh scripts/with-moto.sh cargo test --workspace --no-fail-fast

fmt:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

cfn-lint: $(STAMP)
	$(VENV)/bin/cfn-lint infra/template.yaml

## make bench: DynamoDB requests per API operation and function init time (see docs/benchmarks.md).
bench: $(STAMP)
	scripts/with-moto.sh cargo run --release -p benches --bin request-counts

## make lambda-build: arm64 release binaries for AWS, through cargo-lambda (from PyPI, brings zig).
lambda-build: $(STAMP)
	$(VENV)/bin/pip install --disable-pip-version-check -q cargo-lambda==1.9.2
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda build --release --arm64

clean:
	rm -rf target $(VENV) .local
