# The README's commands. CMake does the building; this file only sequences it.
BUILD      ?= build
BUILD_SAN  ?= build-san
BUILD_TSAN ?= build-tsan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CHECK_FUZZ ?= 1
CHECK_FUZZ_SECONDS ?= 3
CHECK_TSAN ?= 1
CMAKE_ARGS ?=

.PHONY: all build build-san build-tsan check-tsan check-tsan-some deps check check-fast coverage mutate demo bench bench-etcd clean format fuzz sim

all: build

deps:
	@bash scripts/install-deps.sh

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-san:
	@cmake -S . -B $(BUILD_SAN) -DCMAKE_BUILD_TYPE=Debug -DPROVENA_SANITIZE=ON $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD_SAN) -j $(JOBS)

build-tsan:
	@cmake -S . -B $(BUILD_TSAN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROVENA_TSAN=ON $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD_TSAN) -j $(JOBS)

# Every test, on the normal build and again under ASan + UBSan, then the
# threaded tests under ThreadSanitizer (check-tsan-some; CHECK_TSAN=0 leaves it
# out), then every libFuzzer target for CHECK_FUZZ_SECONDS (CHECK_FUZZ=0 leaves
# that out; the corpora are replayed in both builds either way). Each run ends with
# the count of skipped tests (ctest's "Skipped": a tool or binary was missing);
# with CI=true a single skip fails the check.
check: deps build build-san
	@bash tests/ctest-check.sh $(BUILD) --output-on-failure -j $(JOBS)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  bash tests/ctest-check.sh $(BUILD_SAN) --output-on-failure -j $(JOBS)
	@if [ "$(CHECK_TSAN)" = 1 ]; then $(MAKE) --no-print-directory check-tsan-some; fi
	@if [ "$(CHECK_FUZZ)" = 1 ]; then $(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS); fi

# Every unit and cluster test under ThreadSanitizer (build-tsan/). A report stops
# the process (halt_on_error=1) and fails its test; cluster tests also fail on a
# report from any node they started (tests/cluster/lib.py). tests/tsan.supp holds
# the few races inside uninstrumented libraries' own threads, each with its reason.
# setarch -R: TSan's shadow memory needs the fixed address layout that ASLR with
# a high vm.mmap_rnd_bits can break ("unexpected memory mapping"); the personality
# is inherited by every process ctest starts.
# TSAN_CTEST picks tests: make check-tsan TSAN_CTEST="-R cluster_test_gateway".
TSAN_CTEST ?= -L 'unit|cluster'
TSAN_ENV = TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp"
check-tsan: deps build-tsan
	@$(TSAN_ENV) setarch $$(uname -m) -R \
	  bash tests/ctest-check.sh $(BUILD_TSAN) --output-on-failure -j $(JOBS) $(TSAN_CTEST)

# The bounded ThreadSanitizer pass of `make check` (CHECK_TSAN=0 leaves it out):
# build-tsan/ with only what these tests need (the node, the CLI, txtool and
# these unit programs), then every unit test that starts threads and the
# cluster tests that exercise the most threads per second: elections,
# forwarding to the leader, a leader killed under load, a node joining by
# snapshot and catch-up (cluster); the gateway's thread pool, every route and
# scan batches (gateway); leader stops under the CLI's pipelined submissions,
# which hand leadership over (exactly_once); removing a follower and the leader
# (membership). About 2 minutes on 2 cores, build included (docs/TESTING.md);
# `make check-tsan` runs every unit and cluster test.
TSAN_SOME_UNIT ?= unit_consensus_test_cluster unit_consensus_test_api \
  unit_replica_test_submit unit_replica_test_catchup unit_scan_test_scanq \
  unit_chain_test_apply unit_node_test_gw_refusals unit_cli_test_cli_net
TSAN_SOME_CLUSTER ?= cluster_test_cluster cluster_test_gateway cluster_test_exactly_once \
  cluster_test_membership
empty :=
space := $(empty) $(empty)
TSAN_SOME_RE = ^($(subst $(space),|,$(strip $(TSAN_SOME_UNIT) $(TSAN_SOME_CLUSTER))))$$
check-tsan-some: deps
	@cmake -S . -B $(BUILD_TSAN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROVENA_TSAN=ON $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD_TSAN) -j $(JOBS) --target provena-node provena txtool $(TSAN_SOME_UNIT)
	@$(TSAN_ENV) setarch $$(uname -m) -R \
	  bash tests/ctest-check.sh $(BUILD_TSAN) --output-on-failure -j $(JOBS) -R '$(TSAN_SOME_RE)'

# Normal build only; for the edit-compile-test loop.
check-fast: build
	@bash tests/ctest-check.sh $(BUILD) --output-on-failure -j $(JOBS)

# Branch coverage per module with unit and cluster tests (gcov + lcov, build-cov/);
# fails when a module is below its floor (docs/TESTING.md).
coverage: deps
	@bash tests/coverage.sh build-cov

# The mutation check: each mutant of tests/mutants.txt must fail a test.
mutate: deps
	@python3 tests/mutate.py

demo: deps build
	@bash scripts/demo.sh $(BUILD)

bench: deps build
	@bash bench/run.sh $(BUILD)

# The cluster against etcd only: bench_cluster's one table (etcd 3.4, 3 members,
# before and after our 3 nodes; ratios next to issue 18's floors).
bench-etcd: deps build
	@BENCH=cluster bash bench/run.sh $(BUILD)

# Deterministic simulation at scale: every fixture mode over SIM_SEEDS seeds
# (from SIM_BASE), then the simulation of our own I/O over SIM_SEEDS_OWN seeds.
# Prints seeds run, failures and time per mode; a failing seed is replayed
# alone with PROVENA_SIM_SEED=<seed>. ctest runs a fixed slice of both (seeds
# from 1); here the base is fresh from the clock (printed) unless SIM_BASE=b.
SIM_SEEDS     ?= 10000
SIM_BASE      ?=
SIM_SEEDS_OWN ?= 100
sim: build
	PROVENA_SIM_SEEDS=$(SIM_SEEDS) PROVENA_SIM_BASE=$(SIM_BASE) \
	  nice -n 10 $(BUILD)/tests/unit/unit_consensus_test_fixture
	@if [ -x $(BUILD)/tests/sim/sim_cons ]; then \
	  PROVENA_SIM_SEEDS=$(SIM_SEEDS_OWN) PROVENA_SIM_BASE=$(SIM_BASE) \
	  nice -n 10 $(BUILD)/tests/sim/sim_cons; fi

# libFuzzer targets (clang), with the libraries they test instrumented too;
# ctest -L fuzz fuzzes each for FUZZ_SECONDS on a scratch copy of its seeds
# (tests/fuzz/run.sh). The normal and sanitizer builds replay every corpus as
# unit tests (fuzz_X_replay), so a found crash stays a regression test there.
FUZZ_SECONDS ?= 5
fuzz: deps
	@cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DPROVENA_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target fuzz_targets
	cd build-fuzz && PROVENA_FUZZ_SECONDS=$(FUZZ_SECONDS) ctest -L fuzz --output-on-failure

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(BUILD_SAN) $(BUILD_TSAN) build-fuzz build-cov build-mutate
