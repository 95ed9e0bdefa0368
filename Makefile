SHELL := /bin/bash
# weft - build, boot and test.
#
#   make            kernel ELF (build/weft.elf) and bootable ISO (build/weft.iso)
#   make run        boot in QEMU, serial console on this terminal (Ctrl-A X quits)
#   make debug      boot paused with QEMU's gdb stub; `gdb -x tools/gdbinit` in another terminal
#   make test       host unit tests + in-kernel tests in QEMU (TAP via prove)
#   make iso        just the ISO
#   make debug-kernel  build/debug/weft.elf: UBSan, heap and page checks (make test runs it)
#   make bench      benchmarks: weft's own, and weft against Linux (tools/bench)
#   make fuzz       the system-call fuzzer at length: SECONDS=N (default 300),
#                   SEED=S (default random, printed), THREADS=T (default 4), SMP
#
# Missing Debian packages are installed (apt-get) the first time; see `deps`.

SMP      ?= 2
MEM      ?= 256M
APPEND   ?=
BUILD    := build

CC       := gcc
LD       := ld
KCFLAGS  := -std=gnu11 -O2 -g -ffreestanding -fno-builtin -nostdlib -fno-pic -fno-pie \
	    -mno-red-zone -mcmodel=kernel -mno-sse -mno-sse2 -mno-mmx -mno-avx -mno-80387 \
	    -mgeneral-regs-only -fno-stack-protector -fno-omit-frame-pointer \
	    -fno-optimize-sibling-calls -fno-asynchronous-unwind-tables -fcf-protection=none \
	    -Wall -Wextra -Werror -Iinclude -Iarch/x86_64/include -MMD -MP
KASFLAGS := -g -D__ASSEMBLER__ -Iinclude -Iarch/x86_64/include -MMD -MP
KLDFLAGS := -nostdlib -static -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments \
	    -T arch/x86_64/linker.ld

HOST_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Werror -fsanitize=address,undefined \
	       -fno-sanitize-recover=all -fno-builtin -DWEFT_HOST_TEST \
	       -Itests/host/include -Iinclude -Iarch/x86_64/include

KSRC_C := $(wildcard arch/x86_64/*.c kernel/*.c mm/*.c lib/*.c drivers/*.c tests/kernel/*.c)
KSRC_S := $(wildcard arch/x86_64/*.S arch/x86_64/boot/*.S tests/kernel/*.S)
KOBJS  := $(patsubst %,$(BUILD)/%.o,$(KSRC_C) $(KSRC_S))
HOST_TESTS := $(patsubst tests/host/%.c,$(BUILD)/host/%,$(wildcard tests/host/test_*.c))

# The debug kernel: the same sources with -DWEFT_DEBUG and UBSan, plus the
# detectors (kernel/debug, mm/debug) and their tests (tests/kernel/debug).
# The sanitizers that work freestanding; return and vptr are C++ only.
# kernel/debug/ubsan.c (the handlers) is not instrumented itself.
DBUILD      := $(BUILD)/debug
UBSAN_FLAGS := -fsanitize=alignment,bounds,shift,signed-integer-overflow,integer-divide-by-zero,null,object-size,pointer-overflow,builtin,bool,enum,unreachable,vla-bound,nonnull-attribute,returns-nonnull-attribute
KDEBUG_CFLAGS := $(KCFLAGS) -DWEFT_DEBUG
KDEBUG_SRC_C  := $(KSRC_C) $(wildcard kernel/debug/*.c mm/debug/*.c tests/kernel/debug/*.c)
KDEBUG_OBJS   := $(patsubst %,$(DBUILD)/%.o,$(KDEBUG_SRC_C) $(KSRC_S))
KDEBUG_NO_UBSAN := kernel/debug/ubsan.c

include user/user.mk

# Debian packages and the command each provides.
DEPS := gcc:gcc ld:binutils make:make qemu-system-x86_64:qemu-system-x86 \
	grub-mkrescue:grub-common grub-file:grub-common xorriso:xorriso mformat:mtools \
	prove:perl musl-gcc:musl-tools
GRUB_PC_DIR := /usr/lib/grub/i386-pc

.DELETE_ON_ERROR:
.PHONY: all kernel debug-kernel iso run debug test check host-tests bench fuzz clean deps
all: deps kernel iso $(BUILD)/initramfs.cpio

kernel: $(BUILD)/weft.elf
debug-kernel: $(DBUILD)/weft.elf

deps:
	@missing=""; for d in $(DEPS); do cmd=$${d%%:*}; pkg=$${d#*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	  [ -d $(GRUB_PC_DIR) ] || missing="$$missing grub-pc-bin"; \
	  missing=$$(echo $$missing | tr ' ' '\n' | sort -u | tr '\n' ' '); \
	  if [ -n "$$(echo $$missing | tr -d ' ')" ]; then \
	    echo "weft: installing missing Debian packages:$$missing"; \
	    SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	  fi

$(BUILD)/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(KCFLAGS) -c $< -o $@

$(BUILD)/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(KASFLAGS) -c $< -o $@

# Two links: the second carries the symbol table of the first. .ksyms sits
# after all code, so the text of both links is identical (checked).
$(BUILD)/weft.pass1.elf: $(KOBJS) arch/x86_64/linker.ld
	$(LD) $(KLDFLAGS) -o $@ $(KOBJS)

$(BUILD)/ksyms.S: $(BUILD)/weft.pass1.elf tools/gen-ksyms
	tools/gen-ksyms $< > $@

$(BUILD)/ksyms.o: $(BUILD)/ksyms.S
	$(CC) -c $< -o $@

$(BUILD)/weft.elf: $(BUILD)/weft.pass1.elf $(BUILD)/ksyms.o tools/check-image
	$(LD) $(KLDFLAGS) -o $@ $(KOBJS) $(BUILD)/ksyms.o
	tools/check-image $(BUILD)/weft.pass1.elf $@

$(DBUILD)/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(KDEBUG_CFLAGS) $(if $(filter $(KDEBUG_NO_UBSAN),$<),,$(UBSAN_FLAGS)) -c $< -o $@

$(DBUILD)/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(KASFLAGS) -DWEFT_DEBUG -c $< -o $@

$(DBUILD)/weft.pass1.elf: $(KDEBUG_OBJS) arch/x86_64/linker.ld
	$(LD) $(KLDFLAGS) -o $@ $(KDEBUG_OBJS)

$(DBUILD)/ksyms.S: $(DBUILD)/weft.pass1.elf tools/gen-ksyms
	tools/gen-ksyms $< > $@

$(DBUILD)/ksyms.o: $(DBUILD)/ksyms.S
	$(CC) -c $< -o $@

$(DBUILD)/weft.elf: $(DBUILD)/weft.pass1.elf $(DBUILD)/ksyms.o tools/check-image
	$(LD) $(KLDFLAGS) -o $@ $(KDEBUG_OBJS) $(DBUILD)/ksyms.o
	tools/check-image $(DBUILD)/weft.pass1.elf $@

# The ISO boots weft through GRUB's multiboot2 loader (real PCs: write it to
# a USB stick). weft-test.iso is the same with the test entry as default.
iso: $(BUILD)/weft.iso $(BUILD)/weft-test.iso
$(BUILD)/weft.iso: $(BUILD)/weft.elf iso/grub.cfg | deps
	tools/make-iso $(BUILD)/weft.elf iso/grub.cfg $@

$(BUILD)/weft-test.iso: $(BUILD)/weft.elf iso/grub.cfg | deps
	sed -e 's/^set default=0/set default=1/' -e 's/^set timeout=.*/set timeout=0/' \
	  -e 's/test=all$$/test=traps,pmm panic=exit/' iso/grub.cfg > $(BUILD)/grub-test.cfg
	tools/make-iso $(BUILD)/weft.elf $(BUILD)/grub-test.cfg $@

QEMU_RUN := qemu-system-x86_64 -m $(MEM) -smp $(SMP) -display none -serial mon:stdio \
	    -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	    $(shell tools/pick-accel)

INIT ?= /bin/init
run: deps $(BUILD)/weft.elf $(BUILD)/initramfs.cpio
	@echo "weft: booting in QEMU; the console is this terminal. Ctrl-A X quits QEMU."
	$(QEMU_RUN) -kernel $(BUILD)/weft.elf -initrd $(BUILD)/initramfs.cpio \
	  -append "$(if $(INIT),init=$(INIT)) $(APPEND)" || true

debug: deps $(BUILD)/weft.elf
	@echo "weft: QEMU is paused with a gdb stub on :1234. In another terminal:"
	@echo "      gdb -x tools/gdbinit"
	$(QEMU_RUN) -kernel $(BUILD)/weft.elf -append "$(APPEND)" -s -S || true

$(BUILD)/host/%: tests/host/%.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $< -o $@

host-tests: $(HOST_TESTS)

test: deps kernel debug-kernel iso host-tests $(BUILD)/initramfs.cpio
	@mkdir -p $(BUILD)/logs
	@prove -j2 t/ 2>&1 | tee $(BUILD)/prove.log; \
	  status=$${PIPESTATUS[0]}; \
	  tools/tap-summary $(BUILD)/prove.log; \
	  exit $$status

check: test

# weft against Linux (Debian's kernel, fetched once into build/linux) on the
# same QEMU; see tools/bench. ACCEL=kvm: wall-clock figures (needs vmx/svm).
# SMP=S: the CPU count of the multiprocessor table (default 2, as for make run).
ACCEL ?= tcg
bench: deps kernel $(BUILD)/user/t_bench $(BUILD)/user/t_bench_smp $(BUILD)/user/linux-init
	@tools/bench --accel $(ACCEL) --build $(BUILD) --smp $(SMP)

# The fuzz suite (tests/kernel/test_fuzz.c) runs one campaign of /bin/fuzz:
# a kernel panic, a hang (the test watchdog, or a call the fuzzer saw stuck)
# or pages not returned after a round fail it; every round prints its seed
# and a replay command.
SECONDS_ARG := $(if $(filter command line environment,$(origin SECONDS)),$(SECONDS),300)
THREADS ?= 4
fuzz: deps kernel $(BUILD)/initramfs.cpio
	@mkdir -p $(BUILD)/logs
	@seed=$(if $(SEED),$(SEED),$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')); \
	  echo "weft: fuzzing $(SECONDS_ARG) s at -smp $(SMP), seed $$seed (make fuzz SEED=$$seed SECONDS=$(SECONDS_ARG) THREADS=$(THREADS) SMP=$(SMP) replays it)"; \
	  tools/weft-test --name fuzz --smp $(SMP) --mem 512M --timeout $$(( $(SECONDS_ARG) * 2 + 300 )) \
	    --extra "-initrd $(BUILD)/initramfs.cpio" \
	    --append "test=fuzz panic=exit watchdog=$$(( $(SECONDS_ARG) + 300 )) -- --seed $$seed --seconds $(SECONDS_ARG) --threads $(THREADS)"

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
