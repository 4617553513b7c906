# cnnkit: one Makefile for the library, the programs, the tests and the install.
#
#   make                 build libcnnkit and every program into build/
#   make deps            install missing Debian packages (no-op when all are there)
#   make test            deps + build + C unit tests + bats tests; ends "N passed, M failed"
#   make bench           benchmarks against peers (see tools/bench/)
#   make install PREFIX=/usr/local DESTDIR=
#   make MPI=1           the same against MPI, into build-mpi/ (mpirun -np P cnn-train ...)
#   make test-mpi        the MPI build and tests/bats/mpi.bats (make test runs them too
#                        when mpicc is installed)
#   make demo-mpi        make demo's Fashion-MNIST run on 2 ranks
#
# Switches: OPENMP=0, DEBUG=1, SANITIZE=address,undefined, PORTABLE=1 (no -march=native),
#           BUILD=dir (default build/, build-mpi/ with MPI=1), CC=clang, MPI=1 (MPICC=mpicc).

PREFIX  ?= /usr/local
DESTDIR ?=
MPI     ?= 0
MPICC   ?= mpicc
ifeq ($(MPI),1)
  # Never mixed with the default build's objects: a directory of its own.
  BUILD ?= build-mpi
  CC := $(MPICC)
endif
BUILD   ?= build
OPENMP  ?= 1
DEBUG   ?= 0
PORTABLE ?= 0
SANITIZE ?=
VERSION := 0.1.0

CFLAGS_BASE := -std=c11 -Wall -Wextra -Wshadow -Wno-unused-parameter -D_DEFAULT_SOURCE \
               -D_FILE_OFFSET_BITS=64 -DCK_VERSION='"$(VERSION)"' -Ilib -Ibin -fPIC
ifeq ($(DEBUG),1)
  OPT := -O0 -g3
else
  OPT := -O2 -g
endif
ifneq ($(PORTABLE),1)
  OPT += -march=native
endif
ifeq ($(OPENMP),1)
  OMPFLAGS := -fopenmp
else
  OMPFLAGS := -Wno-unknown-pragmas
endif
ifneq ($(SANITIZE),)
  SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

ifeq ($(MPI),1)
  CFLAGS_BASE += -DCK_MPI
endif

ALL_CFLAGS  := $(CFLAGS_BASE) $(OPT) $(OMPFLAGS) $(SANFLAGS) $(CFLAGS)
ALL_LDFLAGS := $(OMPFLAGS) $(SANFLAGS) $(LDFLAGS)
LIBS        := -lpng -ljpeg -lz -lm

# One implementation of cnnkit/dist.h: over MPI, or one process.
LIB_SRC   := $(sort $(filter-out lib/dist_$(if $(filter 1,$(MPI)),local,mpi).c,$(wildcard lib/*.c)))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB_A     := $(BUILD)/libcnnkit.a
BIN_SRC   := $(sort $(wildcard bin/*.c) $(wildcard tools/*.c))
# Program support (messages, exit statuses, option numbers): linked into every program.
CLI_SRC   := $(sort $(wildcard bin/cli/*.c))
CLI_OBJ   := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
# tnz: one program from the files of tools/tnz/.
TNZ_SRC   := $(sort $(wildcard tools/tnz/*.c))
TNZ_OBJ   := $(TNZ_SRC:%.c=$(BUILD)/obj/%.o)
BIN       := $(patsubst %.c,$(BUILD)/bin/%,$(notdir $(BIN_SRC))) $(BUILD)/bin/tnz
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
UNIT      := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
HEADERS   := lib/cnnkit.h $(wildcard lib/cnnkit/*.h) $(wildcard lib/*.h) $(wildcard tests/unit/*.h) \
             $(wildcard bin/cli/*.h) $(wildcard tools/tnz/*.h) $(wildcard tools/bench/common/*.h)
MAN1      := $(wildcard man/*.1)
MAN5      := $(wildcard man/*.5)

.PHONY: all deps test unit bats bench bench-deps install uninstall clean demo \
        mpi-programs test-mpi demo-mpi
.DELETE_ON_ERROR:
.SECONDARY:

all: $(LIB_A) $(BIN) $(UNIT)

# Rebuild everything when the flags change (a stamp holds the last set).
FLAGS_STAMP := $(BUILD)/.flags
$(shell mkdir -p $(BUILD); echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' | cmp -s - $(FLAGS_STAMP) || echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' > $(FLAGS_STAMP))

$(BUILD)/obj/%.o: %.c $(HEADERS) $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB_A): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/bin/%: $(BUILD)/obj/bin/%.o $(CLI_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $< $(CLI_OBJ) $(LIB_A) $(LIBS) -o $@

$(BUILD)/bin/%: $(BUILD)/obj/tools/%.o $(CLI_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $< $(CLI_OBJ) $(LIB_A) $(LIBS) -o $@

$(BUILD)/bin/tnz: $(TNZ_OBJ) $(CLI_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $(TNZ_OBJ) $(CLI_OBJ) $(LIB_A) $(LIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $< $(LIB_A) $(LIBS) -o $@

# test_cli tests the program support, so it links bin/cli's objects too.
$(BUILD)/tests/test_cli: $(BUILD)/obj/tests/unit/test_cli.o $(CLI_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $< $(CLI_OBJ) $(LIB_A) $(LIBS) -o $@

# Benchmark helpers: tools/bench/<name>.c -> build/bench/<name> (built by make bench),
# each linked with what they share (tools/bench/common/).
BENCH_SRC := $(sort $(wildcard tools/bench/*.c))
BENCH     := $(patsubst tools/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
BENCH_COMMON_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tools/bench/common/*.c))
$(BUILD)/bench/%: $(BUILD)/obj/tools/bench/%.o $(BENCH_COMMON_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $< $(BENCH_COMMON_OBJ) $(LIB_A) $(LIBS) -o $@

deps:
	@sh tools/deps.sh

# The MPI build that make test and make test-mpi use: cnn-train and cnn-eval
# built by mpicc into a directory of their own; tests/bats/mpi.bats finds
# them through CK_MPI_BUILD and skips when they or mpirun are missing. Never
# sanitized: Open MPI's own allocations would read as leaks.
ifeq ($(MPI),1)
  MPI_BUILD ?= $(BUILD)
else
  MPI_BUILD ?= $(BUILD)-mpi
endif
HAVE_MPICC := $(shell command -v $(MPICC) 2>/dev/null)

mpi-programs: $(BUILD)/bin/cnn-train $(BUILD)/bin/cnn-eval

test: deps
	@$(MAKE) --no-print-directory all
	$(if $(HAVE_MPICC),@$(MAKE) --no-print-directory MPI=1 SANITIZE= BUILD=$(MPI_BUILD) mpi-programs)
	@CK_MPI_BUILD=$(MPI_BUILD) BUILD=$(BUILD) sh tests/run.sh

test-mpi: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory MPI=1 SANITIZE= BUILD=$(MPI_BUILD) mpi-programs
	@CK_MPI_BUILD=$(MPI_BUILD) BUILD=$(BUILD) sh tests/run.sh bats tests/bats/mpi.bats

unit: all
	@BUILD=$(BUILD) sh tests/run.sh unit

bats: all
	@BUILD=$(BUILD) sh tests/run.sh bats

bench-deps:
	@sh tools/deps.sh bench

bench: bench-deps all $(BENCH)
	@BUILD=$(BUILD) sh tools/bench/run.sh

demo: deps all
	@sh tools/deps.sh demo
	@BUILD=$(BUILD) sh tools/demo.sh

# make demo with the training on 2 ranks of the MPI build (one core each here).
demo-mpi: deps
	@$(MAKE) --no-print-directory MPI=1 BUILD=$(MPI_BUILD)
	@BUILD=$(MPI_BUILD) MPIRUN="mpirun -np 2 --oversubscribe" sh tools/demo.sh image

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	  $(DESTDIR)$(PREFIX)/include/cnnkit $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/
	install -m 755 tools/tnz.py $(DESTDIR)$(PREFIX)/bin/tnz.py
	install -m 644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 lib/cnnkit.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(wildcard lib/cnnkit/*.h) $(DESTDIR)$(PREFIX)/include/cnnkit/
	$(if $(MAN1),install -m 644 $(MAN1) $(DESTDIR)$(PREFIX)/share/man/man1/)
	$(if $(MAN5),install -m 644 $(MAN5) $(DESTDIR)$(PREFIX)/share/man/man5/)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' -e 's|@OMP@|$(OMPFLAGS)|g' \
	  tools/cnnkit.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/cnnkit.pc

uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(notdir $(BIN)) tnz.py)
	rm -f $(DESTDIR)$(PREFIX)/lib/libcnnkit.a $(DESTDIR)$(PREFIX)/lib/pkgconfig/cnnkit.pc
	rm -rf $(DESTDIR)$(PREFIX)/include/cnnkit.h $(DESTDIR)$(PREFIX)/include/cnnkit

clean:
	rm -rf $(BUILD)

# ---- fuzzing ------------------------------------------------------------------
# make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="tnz arch"] [FUZZ_JOBS=2]
# One libFuzzer program per parser (tests/fuzz/fuzz_<target>.c), built with
# clang, ASan and UBSan into $(BUILD)/fuzz/ with the library compiled by the same
# flags (OpenMP on, as shipped; the targets ask for one thread), then each run for
# FUZZ_SECONDS by tests/fuzz/run.sh, FUZZ_JOBS at a time. Crashes land in
# tests/fuzz/crashes/<target>/; fixed ones belong in tests/fuzz/regress/<target>/,
# which test_fuzz_regress replays under `make test`.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_JOBS    ?= 2
FUZZ_BUILD   := $(BUILD)/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# -Wno-pass-failed: instrumented code defeats `omp simd` vectorisation, which is fine here.
FUZZ_CFLAGS  := $(CFLAGS_BASE) -O1 -g -fopenmp -Wno-pass-failed -fsanitize=fuzzer-no-link $(FUZZ_SAN)
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TARGETS ?= $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRC))
FUZZ_BIN     := $(patsubst %,$(FUZZ_BUILD)/fuzz_%,$(FUZZ_TARGETS))
FUZZ_LIB_A   := $(FUZZ_BUILD)/libcnnkit.a

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) \
	  sh tests/fuzz/run.sh $(FUZZ_TARGETS)

$(FUZZ_BUILD)/obj/%.o: %.c $(HEADERS) tests/fuzz/targets.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_LIB_A): $(LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB_A)
	$(FUZZ_CC) -fopenmp -fsanitize=fuzzer $(FUZZ_SAN) $< $(FUZZ_LIB_A) $(LIBS) -o $@

# The regression test includes the fuzz targets' bodies.
$(BUILD)/obj/tests/unit/test_fuzz_regress.o: tests/fuzz/targets.h
