# Lifeboat: build, demo, test and benchmark entry points.
#   make demo    install missing system packages, build release, run scripts/demo.sh
#   make test    install what the tests need (restic, ...), build and run all tests
# See README.md.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

ROOT   := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
SWIFT  ?= swift
SHARED_DIR ?= $(abspath $(ROOT)/../shared)
SWIFT_BUILD_FLAGS ?=
# The release binary carries the Swift runtime and Foundation inside it: it runs on a node
# without a Swift toolchain, starts with ~4.5 MiB less resident memory and calls the runtime
# without the PLT (a d1 backup ~5 % less CPU). See docs/performance.md.
RELEASE_FLAGS ?= --static-swift-stdlib
SWIFT_TEST_FLAGS  ?=
export SHARED_DIR

.PHONY: build release demo test bench bench-dir clean distclean deps-build deps-demo deps-test deps-bench

deps-build deps-demo deps-test deps-bench: deps-%:
	"$(ROOT)/scripts/install-deps.sh" $*

build: deps-build
	$(SWIFT) build $(SWIFT_BUILD_FLAGS)

release: deps-build
	$(SWIFT) build -c release $(RELEASE_FLAGS) $(SWIFT_BUILD_FLAGS)
	@echo "lifeboat binary: $$(realpath --relative-to=. "$$($(SWIFT) build -c release --show-bin-path)/lifeboat")"

demo: deps-demo release
	"$(ROOT)/scripts/demo.sh"

# Output is not filtered: swift test prints each suite and the closing summary
# lines of XCTest and Swift Testing ("Test run with N tests ... passed").
test: deps-test
	$(SWIFT) build --build-tests $(SWIFT_BUILD_FLAGS)
	$(SWIFT) test $(SWIFT_BUILD_FLAGS) $(SWIFT_TEST_FLAGS)

# BENCH_DIR is required and must lie outside the repository (datasets are ~6 GiB).
bench: bench-dir deps-bench release
	SHARED_DIR="$(SHARED_DIR)" LIFEBOAT_BIN="$$($(SWIFT) build -c release --show-bin-path)/lifeboat" \
	    "$(ROOT)/scripts/bench-lifeboat.sh"

bench-dir:
	@if [[ -z "$${BENCH_DIR:-}" ]]; then \
	    echo "make bench: set BENCH_DIR to a scratch directory outside the repository (~12 GiB free)" >&2; exit 2; fi
	@b=$$(realpath -m -- "$$BENCH_DIR"); r=$$(realpath -- "$(ROOT)"); \
	 if [[ $$b == "$$r" || $$b == "$$r"/* ]]; then \
	    echo "make bench: BENCH_DIR=$$BENCH_DIR is inside the repository; choose a directory outside it" >&2; exit 2; fi

clean:
	$(SWIFT) package clean

distclean:
	rm -rf "$(ROOT)/.build" "$(ROOT)"/.build-* "$(ROOT)"/.build_*

# Micro-benchmarks (ordo-one/benchmark) in their own package, so `swift build` never builds
# the benchmark library. First run builds it in release: a few minutes. See Benchmarks/README.md.
.PHONY: bench-micro
bench-micro:
	cd "$(ROOT)/Benchmarks" && $(SWIFT) package benchmark
