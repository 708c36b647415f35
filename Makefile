# minivmm: `make` builds ./minivmm and the guest-kernel-tests; `make test` runs every layer.
CC       ?= gcc
PKGS     := libelf libseccomp liburing inih
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-missing-field-initializers
BASE_CFLAGS = -std=gnu11 $(WARN) -D_GNU_SOURCE -pthread -MMD -MP \
              $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -pthread
BUILD    := build

LIB_SRCS := $(wildcard vmm/*.c arch/x86/*.c arch/x86/xen/*.c devices/*.c devices/virtio/*.c)
LIB_SRCS := $(filter-out vmm/main.c,$(LIB_SRCS))

# Variants: release (./minivmm), debug (lockdep on), asan (ASan+UBSan), tsan.
VARIANT_CFLAGS_release :=
VARIANT_CFLAGS_debug   := -O1 -DLOCKDEP
VARIANT_CFLAGS_asan    := -O1 -DLOCKDEP -fsanitize=address,undefined -fno-omit-frame-pointer \
                          -fno-sanitize-recover=all
VARIANT_CFLAGS_tsan    := -O1 -DLOCKDEP -fsanitize=thread
VARIANTS := release debug asan tsan

.PHONY: all deps run test test-unit test-guest test-model test-nested bench clean \
        format check-format guests
.DEFAULT_GOAL := all

all: minivmm guests

define variant_rules
$(BUILD)/$(1)/%.o: %.c
	@mkdir -p $$(dir $$@)
	@echo "  CC [$(1)] $$<"
	@$$(CC) $$(BASE_CFLAGS) $$(CFLAGS) $$(VARIANT_CFLAGS_$(1)) -c $$< -o $$@

$(BUILD)/$(1)/libminivmm.a: $$(LIB_SRCS:%.c=$(BUILD)/$(1)/%.o)
	@rm -f $$@
	@$$(AR) rcs $$@ $$^

$(BUILD)/$(1)/minivmm: $(BUILD)/$(1)/vmm/main.o $(BUILD)/$(1)/libminivmm.a
	@echo "  LD [$(1)] $$@"
	@$$(CC) $$(CFLAGS) $$(VARIANT_CFLAGS_$(1)) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach v,$(VARIANTS),$(eval $(call variant_rules,$(v))))

minivmm: $(BUILD)/release/minivmm
	@cp $< $@

guests:
	@$(MAKE) -s -C guest-kernel-tests OUT=$(CURDIR)/guest-kernel-tests/build

# ---- tests -------------------------------------------------------------------------------
UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

define unit_rules
$(BUILD)/$(1)/tests/%: tests/unit/%.c $(BUILD)/$(1)/libminivmm.a
	@mkdir -p $$(dir $$@)
	@echo "  TEST [$(1)] $$@"
	@$$(CC) $$(BASE_CFLAGS) $$(CFLAGS) $$(VARIANT_CFLAGS_$(1)) -o $$@ $$< \
		$(BUILD)/$(1)/libminivmm.a $$(CMOCKA_LIBS) $$(LDLIBS)
endef
$(foreach v,$(VARIANTS),$(eval $(call unit_rules,$(v))))

unit-binaries: $(foreach v,debug asan tsan,$(UNIT_TESTS:%=$(BUILD)/$(v)/tests/%))

deps:
	@bash tests/deps.sh

# The main job: boot Linux (directly, or in the nested L1 on a PVM host).
run: deps
	@$(MAKE) -s all
	@bash tests/nested/boot-linux.sh

# The freestanding demo guest, on any host.
run-demo: deps
	@$(MAKE) -s all
	./minivmm run --config configs/demo.ini

test: deps
	@$(MAKE) -s all unit-binaries $(BUILD)/asan/minivmm $(BUILD)/tsan/minivmm fuzz
	@bash tests/run-all.sh

test-unit: unit-binaries
	@bash tests/run-all.sh unit

test-guest: all
	@bash tests/run-all.sh guest

test-model:
	@bash tests/run-all.sh model

nested: all
	@bash tests/nested/run.sh --minivmm ./minivmm

test-nested: all
	@bash tests/run-all.sh nested

$(BUILD)/release/bench_mem: bench/bench_mem.c $(BUILD)/release/libminivmm.a
	@echo "  BENCH $@"
	@$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/release/libminivmm.a $(LDLIBS)

bench: deps
	@$(MAKE) -s all $(BUILD)/release/bench_mem
	@bash bench/run.sh

FORMAT_SRCS = $(wildcard vmm/*.[ch] arch/x86/*.[ch] arch/x86/xen/*.[ch] devices/*.[ch] \
	devices/virtio/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch] \
	guest-kernel-tests/*.[ch] guest-kernel-tests/rt/*.[ch] bench/*.[ch])

format:
	clang-format -i $(FORMAT_SRCS)

check-format:
	@clang-format --dry-run -Werror $(FORMAT_SRCS)

clean:
	rm -rf $(BUILD) minivmm guest-kernel-tests/build

include tests/fuzz/fuzz.mk

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
