# tests/fuzz/fuzz.mk: the libFuzzer harnesses of tests/fuzz/ (issue 7), built with clang,
# ASan and UBSan. Included by the top Makefile once LIB_SRCS, BASE_CFLAGS, LDLIBS and BUILD are
# defined.
#
#   make fuzz          build every harness: build/fuzz/fuzz_<name>
#   make fuzz-run      run each for FUZZ_SECONDS (20) over a copy of its seed corpus
#                      (tests/fuzz/corpus/<name>/, plus the regression inputs in
#                      tests/fuzz/crashes/<name>/); fails on any crash, leak, timeout,
#                      sanitizer report or violated invariant
#   make fuzz-long     the same for FUZZ_LONG_SECONDS (600) each
#   make fuzz-report   per harness: executions, edge coverage, crashes of the last short and
#                      long runs (a harness never run gets a short run first)
#
#   FUZZ_HARNESSES="fuzz_elf fuzz_config" narrows any of them to some harnesses;
#   FUZZ_JOBS=N runs N harnesses at a time (one core each).
#   Reproduce a finding: build/fuzz/fuzz_<name> <input>   (tests/fuzz/README.md)
#
# The library is compiled once more, into build/fuzz/obj/, with clang and
# -fsanitize=fuzzer-no-link,address,undefined so libFuzzer sees its edges; the harness
# binaries link that archive with -fsanitize=fuzzer.

FUZZ_CC           ?= clang
FUZZ_SECONDS      ?= 20
FUZZ_LONG_SECONDS ?= 600
FUZZ_JOBS         ?= 1
FUZZ_CFLAGS       ?= -O1 -g -DLOCKDEP
FUZZ_SAN          := -fsanitize=address,undefined -fno-sanitize-recover=all \
                     -fno-omit-frame-pointer
FUZZ_DIR          := tests/fuzz
FUZZ_OUT          := $(BUILD)/fuzz
FUZZ_LIB          := $(FUZZ_OUT)/libminivmm-fuzz.a
FUZZ_OBJS         := $(LIB_SRCS:%.c=$(FUZZ_OUT)/obj/%.o)

# Every tests/fuzz/fuzz_*.c is a harness; the bzImage one only once its loader exists.
FUZZ_ALL := $(patsubst $(FUZZ_DIR)/%.c,%,$(wildcard $(FUZZ_DIR)/fuzz_*.c))
ifeq ($(wildcard arch/x86/bzimage.c),)
FUZZ_ALL := $(filter-out fuzz_bzimage,$(FUZZ_ALL))
endif
FUZZ_HARNESSES ?= $(FUZZ_ALL)
FUZZ_BINS      := $(FUZZ_HARNESSES:%=$(FUZZ_OUT)/%)

.PHONY: fuzz fuzz-run fuzz-long fuzz-report

fuzz: $(FUZZ_BINS)

$(FUZZ_OBJS): $(FUZZ_OUT)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC [fuzz] $<"
	@$(FUZZ_CC) $(BASE_CFLAGS) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
		-c $< -o $@

$(FUZZ_LIB): $(FUZZ_OBJS)
	@rm -f $@
	@$(AR) rcs $@ $^

$(FUZZ_BINS): $(FUZZ_OUT)/%: $(FUZZ_DIR)/%.c $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD [fuzz] $@"
	@$(FUZZ_CC) $(BASE_CFLAGS) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< \
		$(FUZZ_LIB) $(LDLIBS)

fuzz-run: fuzz
	@FUZZ_OUT=$(FUZZ_OUT) FUZZ_JOBS=$(FUZZ_JOBS) bash $(FUZZ_DIR)/run.sh run $(FUZZ_SECONDS) $(FUZZ_HARNESSES)

fuzz-long: fuzz
	@FUZZ_OUT=$(FUZZ_OUT) FUZZ_JOBS=$(FUZZ_JOBS) bash $(FUZZ_DIR)/run.sh long $(FUZZ_LONG_SECONDS) $(FUZZ_HARNESSES)

fuzz-report: fuzz
	@FUZZ_OUT=$(FUZZ_OUT) FUZZ_JOBS=$(FUZZ_JOBS) bash $(FUZZ_DIR)/run.sh report $(FUZZ_SECONDS) $(FUZZ_HARNESSES)
