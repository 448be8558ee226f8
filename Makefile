# scli — convenience targets over CMake. `make` builds build/scli.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

# Debian 12 packages (installed as root). `make deps-run`: what building, the demo
# and `make deb` need (compiler, CMake, the -dev libraries, cmocka for the test
# binaries the build also makes, tzdata for --tz, help2man for the man pages the
# build makes, dpkg-dev and file for CPack's dpkg-shlibdeps). `make deps`: those
# plus what `make test` and CI use (chromium and a font: test_page.sh's headless browser).
DEB_PACKAGES_RUN = build-essential cmake pkg-config libsqlite3-dev libpq-dev libcsv-dev libcjson-dev \
	zlib1g-dev libxxhash-dev libsodium-dev libmicrohttpd-dev libcmocka-dev tzdata help2man dpkg-dev file
DEB_PACKAGES_TEST = clang gcovr sqlite3 postgresql postgresql-client curl python3 python3-yaml \
	debootstrap util-linux valgrind time libclang-rt-14-dev groff-base man-db bash-completion zsh \
	chromium fonts-dejavu-core
DEB_PACKAGES = $(DEB_PACKAGES_RUN) $(DEB_PACKAGES_TEST)

.PHONY: all build deps deps-run deb install demo test sample coverage asan clean format bench bench-quick bench-serve image-check valgrind soak fuzz

all: build

build:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

# Install what the build and the demo need (Debian 12, as root).
APT_INSTALL = DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends
deps-run:
	apt-get update -qq
	$(APT_INSTALL) $(DEB_PACKAGES_RUN)

# Install the build and test dependencies (Debian 12, as root).
deps: deps-run
	$(APT_INSTALL) $(DEB_PACKAGES_TEST)

# cmake --install: the install() rules (cmake/install.cmake, cmake/docs.cmake) under PREFIX.
PREFIX ?= /usr/local
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# The Debian package, from CPack (cmake/package.cmake): $(BUILD)/scli_<version>_<arch>.deb.
deb: build
	cd $(BUILD) && cpack -G DEB

# The main job on the embedded default: build, init a SQLite database, load the
# sample, count one customer's hours.
DEMO_DB ?= sqlite:$(BUILD)/demo.db
demo: build
	rm -f $(BUILD)/demo.db $(BUILD)/demo.db-wal $(BUILD)/demo.db-shm
	$(BUILD)/scli --database $(DEMO_DB) init-db
	$(BUILD)/scli --database $(DEMO_DB) load --collector csv --config data/sample.csv
	$(BUILD)/scli --database $(DEMO_DB) count --customer bdd732262feb6e9528efe333b266f103 \
		--from 2021-03-01T04:00:00Z --to 2021-03-01T10:30:00Z

# Regenerate data/sample.csv (deterministic: the same bytes every time).
sample: build
	$(BUILD)/scli-gen --rows 5000 --seed 42 --customers 5 --days 3 --start 2021-03-01 > data/sample.csv

# Every test: unit, integration (contract suites) and e2e, through ctest, beside
# a private throwaway PostgreSQL server (tests/support/with-postgres.sh).
CTEST = ctest --output-on-failure -j $(JOBS)
test: build
	tests/support/with-postgres.sh sh -c 'cd $(BUILD) && $(CTEST)'

coverage:
	cmake -S . -B build-coverage -DSCLI_COVERAGE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build build-coverage -j $(JOBS)
	tests/support/with-postgres.sh sh -c 'cd build-coverage && $(CTEST)'
	gcovr -r . --filter 'src/' --object-directory build-coverage --print-summary \
		--txt build-coverage/coverage.txt
	cat build-coverage/coverage.txt

# The whole suite under AddressSanitizer (with LeakSanitizer) and UBSan, built with clang.
asan:
	CC=clang cmake -S . -B build-asan -DSCLI_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build build-asan -j $(JOBS)
	tests/support/with-postgres.sh sh -c 'cd build-asan && $(CTEST)'

# Benchmarks (bench/): the peers measured side by side in the same run, ratios printed,
# results in bench/results/. Not run by `make test`.
# The e2e tests with every scli under valgrind memcheck (leaks and memory errors fail).
# The two long fault/hostile tests (1M rows, a 1 GiB line) are left to the ASan build.
valgrind:
	cmake -S . -B build-valgrind -DSCLI_VALGRIND=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build build-valgrind -j $(JOBS)
	tests/support/with-postgres.sh sh -c 'cd build-valgrind && $(CTEST) -R "^e2e/" -E "faults|hostile"'

bench: build
	BUILD=$(BUILD) bench/run.sh full

bench-quick: build
	BUILD=$(BUILD) bench/run.sh quick

bench-serve: build
	bench/serve.sh

# serve under wrk, 64 connections, 60 s, PostgreSQL: zero errors, no memory growth.
soak: build
	bench/soak.sh

# Every libFuzzer target for FUZZ_SECONDS each (clang; crashes land in build-fuzz/crashes/).
FUZZ_SECONDS ?= 60
fuzz:
	tests/fuzz/run.sh $(FUZZ_SECONDS)

# Prove the Dockerfile's runtime stage and the .deb without a Docker engine
# (debootstrap + chroot; root).
image-check: deb
	BUILD=$(BUILD) tools/image-check.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) build-coverage build-asan build-valgrind build-fuzz
