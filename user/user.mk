# user/user.mk - user-space programs weft runs: the demo shell, the tests,
# and the initramfs that carries them. Included by the top-level Makefile;
# standalone:
#   make -f user/user.mk user-progs BUILD=build
#
# Every program is one C file built as a static Linux executable with musl:
#   user/bin/NAME.c    -> $(BUILD)/user/NAME   (init, what `make run` boots)
#   user/tests/NAME.c  -> $(BUILD)/user/NAME   (t_*: TAP tests, t_bench)
#   user/bench/NAME.c  -> $(BUILD)/user/NAME   (linux-init: `make bench` boots
#                                               Linux with it; not in weft's initramfs)
#   user/fuzz/*.c      -> $(BUILD)/user/fuzz   (the system-call fuzzer: several files;
#                                               no stack protector, see fuzz.h)
# Objects and dependency files go to $(BUILD)/user/obj/. A file that needs
# extra flags gets them from USER_CFLAGS_<name> (e.g. USER_CFLAGS_t_x := -mavx).
# t_fpu needs none: its AVX code is inline assembly, run only after cpuid and
# xgetbv said AVX is usable, so the compiler never emits AVX on its own.
#
# $(BUILD)/initramfs.cpio holds every program as /bin/NAME.

# Included from another makefile? (Then its default goal stays the default,
# and musl-gcc waits for its `deps` target, which installs musl-tools.)
USER_INCLUDED    := $(filter-out user/user.mk,$(MAKEFILE_LIST))
USER_SAVED_GOAL  := $(.DEFAULT_GOAL)

BUILD ?= build

USER_CC      ?= musl-gcc
USER_CFLAGS  := -std=gnu11 -static -O2 -g -Wall -Wextra -Werror -pthread -Iuser/lib -MMD -MP
USER_LDFLAGS := -static -pthread

USER_BIN_SRC  := $(wildcard user/bin/*.c)
USER_TEST_SRC := $(wildcard user/tests/t_*.c)
USER_NAMES    := $(basename $(notdir $(USER_BIN_SRC) $(USER_TEST_SRC)))
USER_PROGS    := $(addprefix $(BUILD)/user/,$(USER_NAMES))
USER_OBJS     := $(addprefix $(BUILD)/user/obj/,$(addsuffix .o,$(USER_NAMES)))
USER_BENCH_NAMES := $(basename $(notdir $(wildcard user/bench/*.c)))
USER_BENCH_PROGS := $(addprefix $(BUILD)/user/,$(USER_BENCH_NAMES))
USER_OBJS        += $(addprefix $(BUILD)/user/obj/,$(addsuffix .o,$(USER_BENCH_NAMES)))

USER_FUZZ      := $(BUILD)/user/fuzz
USER_FUZZ_OBJS := $(patsubst user/fuzz/%.c,$(BUILD)/user/obj/fuzz/%.o,$(wildcard user/fuzz/*.c))
USER_OBJS      += $(USER_FUZZ_OBJS)

.PHONY: user-progs user-clean
user-progs: $(USER_PROGS) $(USER_BENCH_PROGS) $(USER_FUZZ)

$(USER_PROGS) $(USER_BENCH_PROGS): $(BUILD)/user/%: $(BUILD)/user/obj/%.o
	$(USER_CC) $(USER_LDFLAGS) $< -o $@

$(USER_FUZZ): $(USER_FUZZ_OBJS)
	$(USER_CC) $(USER_LDFLAGS) $^ -o $@

$(BUILD)/user/obj/fuzz/%.o: user/fuzz/%.c user/user.mk
	@mkdir -p $(dir $@)
	$(USER_CC) $(USER_CFLAGS) -fno-stack-protector -c $< -o $@

$(BUILD)/user/obj/%.o: user/bin/%.c user/user.mk
	@mkdir -p $(dir $@)
	$(USER_CC) $(USER_CFLAGS) $(USER_CFLAGS_$*) -c $< -o $@

$(BUILD)/user/obj/%.o: user/tests/%.c user/user.mk
	@mkdir -p $(dir $@)
	$(USER_CC) $(USER_CFLAGS) $(USER_CFLAGS_$*) -c $< -o $@

$(BUILD)/user/obj/%.o: user/bench/%.c user/user.mk
	@mkdir -p $(dir $@)
	$(USER_CC) $(USER_CFLAGS) $(USER_CFLAGS_$*) -c $< -o $@

ifneq ($(USER_INCLUDED),)
$(USER_OBJS): | deps
endif

$(BUILD)/initramfs.cpio: $(USER_PROGS) $(USER_FUZZ) tools/mkinitramfs
	tools/mkinitramfs $@ $(foreach p,$(USER_PROGS) $(USER_FUZZ),$(p):/bin/$(notdir $(p)))

user-clean:
	rm -rf $(BUILD)/user $(BUILD)/initramfs.cpio

-include $(wildcard $(BUILD)/user/obj/*.d $(BUILD)/user/obj/fuzz/*.d)

ifneq ($(USER_INCLUDED),)
.DEFAULT_GOAL := $(USER_SAVED_GOAL)
endif
