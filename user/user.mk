# user.mk - weft's user programs: static musl binaries, and the initramfs
# that carries them (included by the top-level Makefile).
#
#   user/bin/*.c    programs (init: what `make run` boots into)
#   user/tests/*.c  test programs, run inside weft by tests/kernel/test_user.c
USER_CC     := musl-gcc
USER_CFLAGS := -static -O2 -g -Wall -Wextra -Werror -pthread
USER_SRCS   := $(wildcard user/bin/*.c user/tests/*.c)
USER_PROGS  := $(patsubst %.c,$(BUILD)/user/%,$(notdir $(USER_SRCS)))

vpath %.c user/bin user/tests

$(BUILD)/user/%: %.c user/lib/tap.h | deps
	@mkdir -p $(dir $@)
	$(USER_CC) $(USER_CFLAGS) $< -o $@

$(BUILD)/initramfs.cpio: $(USER_PROGS) tools/mkinitramfs
	tools/mkinitramfs $@ $(foreach p,$(USER_PROGS),$(p):/bin/$(notdir $(p)))

user-progs: $(USER_PROGS)
