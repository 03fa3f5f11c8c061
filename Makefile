# Thin entry points over meson; see README.md.
PREFIX ?= /usr/local
BUILD ?= build
TESTBUILD ?= build-test
PYTHON ?= /usr/bin/python3

.PHONY: all deps install check unit integration demo bench clean format format-check

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=release -Db_ndebug=false

$(TESTBUILD)/build.ninja:
	meson setup $(TESTBUILD) --buildtype=debug -Db_sanitize=address,undefined \
	    -Db_lundef=false

deps:
	sh scripts/install-deps.sh

# The programs go to PREFIX/bin; berthd finds berth-shim next to itself.
PROGRAMS = src/oci/berth-oci src/cli/berth src/daemon/berthd src/shim/prog/berth-shim \
	src/init/berth-init

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	for p in $(PROGRAMS); do install -m 0755 $(BUILD)/$$p $(DESTDIR)$(PREFIX)/bin/; done

# Every test: unit tests (ASan+UBSan) then integration tests against the
# sanitized binaries.
check: deps format-check all $(TESTBUILD)/build.ninja
	ninja -C $(TESTBUILD)
	meson test -C $(TESTBUILD) --print-errorlogs
	$(MAKE) fuzz-smoke
	BERTH_BUILD=$(abspath $(TESTBUILD)) $(PYTHON) -m pytest -q -ra tests/integration

# libFuzzer harnesses (clang): seed corpora plus a few thousand random runs
# each; fails on any crash, leak or sanitizer report. See fuzz/README.md.
.PHONY: fuzz-smoke
fuzz-smoke:
	$(MAKE) -C fuzz smoke

unit: $(TESTBUILD)/build.ninja
	ninja -C $(TESTBUILD)
	meson test -C $(TESTBUILD) --print-errorlogs

integration: $(TESTBUILD)/build.ninja
	ninja -C $(TESTBUILD)
	BERTH_BUILD=$(abspath $(TESTBUILD)) $(PYTHON) -m pytest -q -ra tests/integration

# Berth's main job, end to end.
demo: deps all
	sh scripts/demo.sh $(abspath $(BUILD))

bench: all
	sh scripts/install-deps.sh --bench
	sh bench/run.sh $(abspath $(BUILD))

FORMATTED = $$(git ls-files 'src/*.c' 'src/*.h' 'fuzz/*.c')

format:
	clang-format -i $(FORMATTED)

# The one .clang-format, checked: `make format` fixes what this reports.
format-check:
	clang-format --dry-run -Werror $(FORMATTED)

clean:
	rm -rf $(BUILD) $(TESTBUILD)
