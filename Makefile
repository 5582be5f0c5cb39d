# Thin wrapper over meson: the two commands of the README, plus helpers.
#   make run    install what is missing, build, run the newest runnable part
#   make test   install what is missing, build, run every test suite
# Everything real happens in scripts/ so that CI (.ci/run) and people run
# exactly the same steps.

FUZZ_SECONDS ?= 60

.PHONY: run test deps build fuzz bench perf clean

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

# Micro-benchmarks (JSON lines; figures and commands in perf/RESULTS.md).
bench: build
	@scripts/hugepages.sh 4096
	./build/perf/bench-store/scpp-bench-store
	./build/perf/bench-eval/scpp-bench-eval

# The testpmd-style suite: scppd vs dpdk-testpmd and Redis (perf/README.md).
perf: build
	@perf/run-suite --quick --build build

clean:
	rm -rf build build-asan build-fuzz
