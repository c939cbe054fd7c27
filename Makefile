# The two commands of the README's quick start:
#   make demo   installs what is missing, builds, and runs the main job
#   make test   installs what is missing, builds, and runs every test twice:
#               an optimised build, then one with ASan and UBSan
# Other targets: build, build-asan, deps, test-deps, bench, fuzz, clean.

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
ASAN_BUILD ?= build-asan

.PHONY: demo test build build-asan deps test-deps bench fuzz clean

deps:
	@sh tools/install-deps.sh

test-deps:
	@sh tools/install-deps.sh --test

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)

build-asan: test-deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTG_SANITIZE=ON -DTG_NATIVE=OFF
	cmake --build $(ASAN_BUILD) -j $(JOBS)

demo: build
	@sh tools/demo.sh $(BUILD)

test: test-deps build build-asan
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS) -LE slow

bench: build
	@sh tools/bench.sh $(BUILD)

fuzz: test-deps
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTG_BUILD_FUZZERS=ON -DTG_NATIVE=OFF
	cmake --build build-fuzz -j $(JOBS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
