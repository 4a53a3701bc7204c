# vlbimon-bridge - see README.md. `make test` and `make demo` work on a fresh
# Debian machine as root: they install what they need through `make deps`.

PREFIX ?= /usr/local
DESTDIR ?=
SHAREDIR = $(PREFIX)/share/vlbimon-bridge

# Debian packages, by name. Keep complete: CI on a warm machine hides gaps.
DEBS = build-essential pkg-config curl perl sqlite3 lua5.4 valgrind clang clang-format \
       libcurl4-openssl-dev libsqlite3-dev liblua5.4-dev libyaml-dev lua-cjson-dev \
       libcmocka-dev libmicrohttpd-dev zlib1g-dev time openssl postgresql libpq-dev

PKGS = libcurl sqlite3 lua5.4 yaml-0.1 lua5.4-cjson libpq
CC ?= cc
CFLAGS ?= -O2 -g
WARN = -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
# pkg-config fails on a machine without the -dev packages; `make deps` fixes that.
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

ifeq ($(SANITIZE),1)
MODE = san
CFLAGS += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
else
MODE = rel
endif
# `make fuzz` builds its libFuzzer targets (and the library under them) with clang in build/fuzz.
ifeq ($(FUZZ),1)
MODE = fuzz
CC = clang
CFLAGS = -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif
BUILD = build/$(MODE)

ALL_CFLAGS = $(WARN) $(CFLAGS) $(PKG_CFLAGS) -Isrc -DVB_SHAREDIR='"$(SHAREDIR)"' -D_POSIX_C_SOURCE=200809L
LIBS = $(PKG_LIBS) -lm

# The layers of src/, bottom up (docs/architecture.md); src/sim/ is the simulator.
LAYERS = core db host net hist cmd
# Every object depends on every header: a change rebuilds all (seconds), and a
# header deleted or renamed cannot leave a stale dependency behind.
HDRS = $(wildcard src/*/*.h)
LIB_SRC = $(filter-out src/cmd/main.c,$(wildcard $(LAYERS:%=src/%/*.c)))
LIB_OBJ = $(LIB_SRC:src/%.c=$(BUILD)/%.o)
# ar keeps members by file name: two layers' foo.c would replace each other in libvb.a.
ifneq ($(words $(notdir $(LIB_SRC))),$(words $(sort $(notdir $(LIB_SRC)))))
$(error two files in src/ share a name: $(sort $(notdir $(LIB_SRC))))
endif
SIM_SRC = $(wildcard src/sim/*.c)
SIM_OBJ = $(SIM_SRC:src/sim/%.c=$(BUILD)/sim/%.o)
UNIT_SRC = $(wildcard tests/unit/*_test.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

BINS = vlbimon_bridge $(if $(SIM_SRC),vlbimon_sim)

.PHONY: all deps test demo init install clean format bench fuzz soak test-san test-bins
all: $(BINS)

deps:
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  if [ "$$(id -u)" -ne 0 ]; then echo "make deps: run as root to install: $$missing" >&2; exit 1; fi; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

# Rebuild everything when the flags change (e.g. SANITIZE=1 after a plain build).
$(BUILD)/flags: FORCE
	@mkdir -p $(BUILD)
	@echo '$(CC) $(ALL_CFLAGS) $(LDFLAGS)' | cmp -s - $@ || echo '$(CC) $(ALL_CFLAGS) $(LDFLAGS)' > $@
FORCE:

# The binaries sit outside $(BUILD), shared by both modes: this file changes
# when the mode does, so switching relinks them.
build/mode: FORCE
	@mkdir -p build
	@echo '$(MODE)' | cmp -s - $@ || echo '$(MODE)' > $@

$(BUILD)/%.o: src/%.c $(HDRS) $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/sim/%.o: src/sim/%.c $(HDRS) $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(shell pkg-config --cflags libmicrohttpd 2>/dev/null) -c $< -o $@

$(BUILD)/libvb.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

vlbimon_bridge: $(BUILD)/cmd/main.o $(BUILD)/libvb.a build/mode
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/cmd/main.o $(BUILD)/libvb.a $(LIBS)

vlbimon_sim: $(SIM_OBJ) $(BUILD)/libvb.a build/mode
	$(CC) $(LDFLAGS) -o $@ $(SIM_OBJ) $(BUILD)/libvb.a $(LIBS) $(shell pkg-config --libs libmicrohttpd 2>/dev/null) -lz

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libvb.a $(HDRS) $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libvb.a $(LIBS) -lcmocka

# Everything runs through prove so there is one summary line and one exit status.
test: deps
	$(MAKE) all $(UNIT_BIN) $(FUZZ_RUN)
	UNIT_BIN_DIR=$(BUILD)/tests FUZZ_BIN_DIR=$(BUILD)/fuzz prove -f tests/unit/run.t tests/fuzz/corpus.t tests/e2e/*.t
	$(MAKE) test-san

# The real catalogue from vlbimon2 (no account needed), into ./masterlist.json.
init: all
	./vlbimon_bridge masterlist

demo: deps
	$(MAKE) all
	tools/demo.sh

# Always the optimized build, whatever SANITIZE says: the figures are the product's.
bench: deps
	$(MAKE) SANITIZE= all build/rel/bench/pipeline build/rel/bench/pgsink build/rel/bench/gen_tree \
		build/rel/bench/query
	bench/run.sh

$(BUILD)/bench/pipeline $(BUILD)/bench/pgsink: $(BUILD)/bench/%: bench/%.c $(BUILD)/libvb.a $(HDRS) $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libvb.a $(LIBS)

$(BUILD)/bench/gen_tree: bench/gen_tree.c $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $<

$(BUILD)/bench/query: bench/query.c $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBS)

# --- Hardening (docs/reliability.md): fuzzing, the sanitizer pass, soak ---
# Each tests/fuzz/fuzz_NAME.c is a libFuzzer target. With driver.c it is also
# built as a plain program, $(BUILD)/fuzz/run_NAME, that runs files through the
# same code: tests/fuzz/corpus.t replays the seed corpus and every regression
# input with it in `make test`, without libFuzzer.
FUZZ_NAMES = $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_RUN = $(FUZZ_NAMES:%=$(BUILD)/fuzz/run_%)
FUZZ_DEPS = tests/fuzz/common.c tests/fuzz/fuzz.h $(BUILD)/libvb.a $(HDRS) $(BUILD)/flags
FUZZ_SECONDS ?= 60

$(BUILD)/fuzz/run_%: tests/fuzz/fuzz_%.c tests/fuzz/driver.c $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Itests/fuzz -o $@ $< tests/fuzz/driver.c tests/fuzz/common.c $(BUILD)/libvb.a $(LIBS)

$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DEPS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -Itests/fuzz -o $@ $< tests/fuzz/common.c $(BUILD)/libvb.a $(LIBS)

# Each target for FUZZ_SECONDS; a finding fails with the input to add to tests/fuzz/regressions/.
fuzz: deps
	$(MAKE) FUZZ=1 $(FUZZ_NAMES:%=build/fuzz/fuzz_%)
	tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_NAMES)

# A mode's own copies of the binaries, in $(BUILD)/bin beside links to the
# runtime tree (the binary finds lua/, transformers/, ... next to itself, and
# the Lua tests find tests/ under vlbimon.root()), so
# the sanitizer pass leaves ./vlbimon_bridge as it is. tests/e2e/lib.sh runs
# them when VB_BIN_DIR names that directory.
RUNTIME_LINKS = $(addprefix $(BUILD)/bin/,lua transformers migrations scripts share tests)

$(RUNTIME_LINKS):
	@mkdir -p $(dir $@)
	ln -sfn ../../../$(notdir $@) $@

$(BUILD)/bin/vlbimon_bridge: $(BUILD)/cmd/main.o $(BUILD)/libvb.a $(RUNTIME_LINKS)
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/cmd/main.o $(BUILD)/libvb.a $(LIBS)

$(BUILD)/bin/vlbimon_sim: $(SIM_OBJ) $(BUILD)/libvb.a $(RUNTIME_LINKS)
	$(CC) $(LDFLAGS) -o $@ $(SIM_OBJ) $(BUILD)/libvb.a $(LIBS) $(shell pkg-config --libs libmicrohttpd 2>/dev/null) -lz

test-bins: $(BUILD)/bin/vlbimon_bridge $(BUILD)/bin/vlbimon_sim $(UNIT_BIN) $(FUZZ_RUN)

# The sanitizer pass of `make test`: the unit tests, the fuzz corpus and the
# e2e tests of bad input, a broken table, secrets, the sandbox, initdb on
# PostgreSQL, the PostgreSQL sink's loads and Lua handles, and the backfill
# on SQLite and PostgreSQL again under ASan+UBSan. Under SANITIZE=1
# everything already ran that way.
SAN_E2E = tests/e2e/badinput.t tests/e2e/broken_table.t tests/e2e/secrets.t tests/e2e/sandbox.t \
          tests/e2e/initdb_pg.t tests/e2e/insert_pg.t tests/e2e/backfill.t tests/e2e/backfill_pg.t
test-san:
ifneq ($(SANITIZE),1)
	$(MAKE) SANITIZE=1 test-bins
	UNIT_BIN_DIR=build/san/tests FUZZ_BIN_DIR=build/san/fuzz VB_BIN_DIR=$(CURDIR)/build/san/bin \
	  prove -f tests/unit/run.t tests/fuzz/corpus.t $(wildcard $(SAN_E2E))
endif

# Seven simulated days with every fault (outside CI: it takes minutes); figures in docs/reliability.md.
soak: deps
	$(MAKE) SANITIZE= all
	tools/soak.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(SHAREDIR)
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	cp -R lua transformers migrations scripts $(DESTDIR)$(SHAREDIR)/ 2>/dev/null || cp -R lua $(DESTDIR)$(SHAREDIR)/
	install -m 0644 share/masterlist.json $(DESTDIR)$(SHAREDIR)/masterlist.json

format:
	clang-format -i src/*/*.[ch] tests/unit/*.c tests/fuzz/*.[ch] bench/*.c

clean:
	rm -rf build vlbimon_bridge vlbimon_sim

