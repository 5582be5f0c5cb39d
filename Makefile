# Thin wrapper over meson: the two commands of the README, plus helpers.
#   make run    install what is missing, build, run the newest runnable part
#   make test   install what is missing, build, run every test suite
# Everything real happens in scripts/ so that CI (.ci/run) and people run
# exactly the same steps.

FUZZ_SECONDS ?= 60

.PHONY: run test deps build fuzz bench clean

run:
	@scripts/run.sh

test:
	@scripts/test.sh

deps:
	@scripts/deps.sh

build: deps
	@scripts/build.sh build

fuzz: deps
	@scripts/fuzz.sh $(FUZZ_SECONDS)

bench: build
	@scripts/hugepages.sh
	@perf/run-bench-store

clean:
	rm -rf build build-asan build-fuzz
