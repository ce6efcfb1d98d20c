# Thin wrapper over meson + ninja. `make run` and `make check` are the two commands a user needs.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 30
# make check fuzzes each target more briefly: with the seed replay it is a regression test,
# and the whole check stays within its 30 minutes on 2 cores. `make fuzz` is the long run.
CHECK_FUZZ_SECONDS ?= 10
MESON      ?= meson

.PHONY: all setup run check unit integ integ-pg browser asan fuzz fuzz-check bench fmt lint clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD) --buildtype=debugoptimized

setup:
	scripts/setup.sh

run: setup all
	scripts/run-quickstart.sh

# Everything CI runs: set-up, build, lint, unit tests (store tests on SQLite and on a throwaway
# PostgreSQL), integration tests on SQLite and again on PostgreSQL, unit and SQLite integration
# tests again under ASan+UBSan, then each fuzzer for CHECK_FUZZ_SECONDS. scripts/with-pg.sh
# starts the PostgreSQL (tests/pg/pgtmp.sh) and stops it when its command ends, failed or not.
check: setup all lint
	scripts/with-pg.sh $(MESON) test -C $(BUILD) --print-errorlogs
	tests/integ/run.sh $(BUILD)
	scripts/with-pg.sh tests/integ/run.sh $(BUILD)
	$(MAKE) asan
	$(MAKE) fuzz-check FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS)

unit: all
	scripts/with-pg.sh $(MESON) test -C $(BUILD) --print-errorlogs

integ: all
	tests/integ/run.sh $(BUILD)

# The integration suite with every gateway on PostgreSQL (a schema per test).
integ-pg: all
	scripts/with-pg.sh tests/integ/run.sh $(BUILD)

# Only the real-browser tests (Chromium; part of integ too). Screenshots: $(BUILD)/browser-shots/
browser: setup all
	tests/integ/run.sh $(BUILD) test_browser_

asan:
	test -f $(ASAN_BUILD)/build.ninja || CC=clang $(MESON) setup $(ASAN_BUILD) \
	    --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    scripts/with-pg.sh $(MESON) test -C $(ASAN_BUILD) --print-errorlogs
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    tests/integ/run.sh $(ASAN_BUILD)

$(FUZZ_BUILD)/build.ninja:
	CC=clang $(MESON) setup $(FUZZ_BUILD) --buildtype=debugoptimized -Dfuzz=true -Dtests=false \
	    -Db_sanitize=address,undefined -Db_lundef=false

fuzz-check: $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)
	scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

fuzz: $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)
	scripts/fuzz.sh $(FUZZ_BUILD) 600

bench: setup all
	bench/production/run.sh $(BUILD)
	bench/cluster/run.sh $(BUILD)
	bench/run.sh $(BUILD)
	bench/signin.sh $(BUILD)
	bench/policy/run.sh $(BUILD)
	bench/audit/run.sh $(BUILD)
	bench/device/run.sh $(BUILD)
	bench/risk/run.sh $(BUILD)
	bench/webauthn/run.sh $(BUILD)
	bench/passkey/run.sh $(BUILD)
	bench/oidc/run.sh $(BUILD)
	bench/roster/run.sh $(BUILD)
	bench/scim/run.sh $(BUILD)
	bench/ldap/run.sh $(BUILD)
	bench/websocket/run.sh $(BUILD)
	bench/https_upstream/run.sh $(BUILD)
	bench/tunnel/run.sh $(BUILD)
	bench/console/run.sh $(BUILD)

fmt:
	clang-format -i $$(git ls-files '*.c' '*.h')

lint:
	scripts/lint.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
