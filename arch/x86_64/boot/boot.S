/*
 * boot.S - from the bootloader's 32-bit protected mode to 64-bit C.
 *
 * Entered by GRUB (multiboot2: EAX = 0x36d76289) or by QEMU -kernel
 * (multiboot1: EAX = 0x2BADB002), with EBX = physical address of the boot
 * information, paging off, interrupts off, and no usable stack.
 *
 * We build just enough paging to reach the higher half: 2 MiB pages that
 * map physical 0..1 GiB both at 0 (identity, for the instructions right
 * after enabling paging) and at KERNEL_VMA (where the kernel is linked).
 * arch/x86_64/paging.c later replaces these tables with fine-grained ones.
 *
 * Everything here runs at the physical address, so kernel-image symbols
 * (linked at KERNEL_VMA + phys) are used as (sym - KERNEL_VMA).
 */
#include <arch/memlayout.h>

#define MB1_MAGIC      0x1BADB002
#define MB1_FLAGS      ((1 << 0) | (1 << 1) | (1 << 16)) /* align modules, mem info, address fields */
#define MB2_MAGIC      0xE85250D6
#define PHYS(x)        ((x) - KERNEL_VMA)

	.section .multiboot, "a"
	/* Multiboot1 header with the address fields ("a.out kludge"): QEMU's
	 * -kernel loader refuses 64-bit ELF files otherwise. The linker script
	 * keeps the file a linear image of physical memory from load_addr. */
	.align 4
mb1_header:
	.long MB1_MAGIC
	.long MB1_FLAGS
	.long -(MB1_MAGIC + MB1_FLAGS)
	.long mb1_header                 /* header_addr (physical; .multiboot is linked low) */
	.long _kernel_phys_start         /* load_addr */
	.long _load_end_phys             /* load_end_addr: end of file-backed data */
	.long _bss_end_phys              /* bss_end_addr: loader zeroes up to here */
	.long _start                     /* entry_addr */

	/* Multiboot2 header (GRUB, real PCs). GRUB loads the ELF segments by
	 * their physical addresses; the entry tag names the 32-bit entry. */
	.align 8
mb2_header:
	.long MB2_MAGIC
	.long 0                          /* architecture: i386 protected mode */
	.long mb2_end - mb2_header
	.long -(MB2_MAGIC + 0 + (mb2_end - mb2_header))
	.align 8
	.short 3, 0                      /* entry address tag */
	.long 12
	.long _start
	.align 8
	.short 0, 0                      /* end tag */
	.long 8
mb2_end:

	.section .boot.text, "ax"
	.code32
	.globl _start
_start:
	cli
	cld
	movl %eax, %edi                  /* multiboot magic: 1st argument of kmain */
	movl %ebx, %esi                  /* boot info (physical): 2nd argument */
	movl $PHYS(boot_stack_top), %esp

	/* Long mode present? CPUID 0x80000001 EDX bit 29. */
	movl $0x80000000, %eax
	cpuid
	cmpl $0x80000001, %eax
	jb no_long_mode
	movl $0x80000001, %eax
	cpuid
	testl $(1 << 29), %edx
	jz no_long_mode

	/* Boot page tables (in .bss, zeroed by the loader; cleared again here
	 * because a real-PC loader that skips it would leave garbage). */
	movl %edi, %ebp                  /* keep magic across rep stosl (clobbers EDI) */
	movl $PHYS(boot_pml4), %edi
	xorl %eax, %eax
	movl $(3 * 4096 / 4), %ecx
	rep stosl
	movl %ebp, %edi

	/* PML4[0] and PML4[511] -> boot_pdpt; PDPT[0] and PDPT[510] -> boot_pd.
	 * KERNEL_VMA = PML4 slot 511, PDPT slot 510, so both views share one PD. */
	movl $PHYS(boot_pdpt), %eax
	orl $0x3, %eax                   /* present | writable */
	movl %eax, PHYS(boot_pml4)
	movl %eax, PHYS(boot_pml4) + 511 * 8
	movl $PHYS(boot_pd), %eax
	orl $0x3, %eax
	movl %eax, PHYS(boot_pdpt)
	movl %eax, PHYS(boot_pdpt) + 510 * 8

	/* PD: 512 x 2 MiB pages covering physical 0..1 GiB. */
	movl $PHYS(boot_pd), %ebx
	movl $0x83, %eax                 /* present | writable | page size (2 MiB) */
	movl $512, %ecx
1:	movl %eax, (%ebx)
	addl $0x200000, %eax
	addl $8, %ebx
	loop 1b

	movl %cr4, %eax
	orl $(1 << 5), %eax              /* CR4.PAE */
	movl %eax, %cr4
	movl $PHYS(boot_pml4), %eax
	movl %eax, %cr3
	movl $0xC0000080, %ecx           /* IA32_EFER */
	rdmsr
	orl $(1 << 8), %eax              /* EFER.LME */
	wrmsr
	movl %cr0, %eax
	orl $((1 << 31) | (1 << 16) | 1), %eax /* CR0.PG | CR0.WP | CR0.PE */
	movl %eax, %cr0                  /* now in compatibility mode */

	lgdt boot_gdt_ptr
	ljmp $0x08, $long_mode_low

no_long_mode:
	/* Say why on COM1 (polled) and stop: this CPU cannot run weft. */
	movl $no_lm_msg, %esi
2:	movb (%esi), %al
	testb %al, %al
	jz 4f
	movw $0x3fd, %dx
3:	inb %dx, %al                     /* wait for the transmit holding register */
	testb $0x20, %al
	jz 3b
	movb (%esi), %al
	movw $0x3f8, %dx
	outb %al, %dx
	incl %esi
	jmp 2b
4:	hlt
	jmp 4b

	.code64
long_mode_low:
	/* 64-bit code, still at the identity-mapped address: jump high. */
	movabsq $long_mode_high, %rax
	jmp *%rax

	.section .boot.rodata, "a"
no_lm_msg:
	.asciz "weft: this CPU has no long mode (x86-64); halting.\r\n"
	.align 8
boot_gdt:
	.quad 0                          /* null */
	.quad 0x00af9a000000ffff         /* 0x08: 64-bit kernel code */
	.quad 0x00cf92000000ffff         /* 0x10: kernel data */
boot_gdt_end:
boot_gdt_ptr:
	.short boot_gdt_end - boot_gdt - 1
	.quad boot_gdt

	.text
	.code64
long_mode_high:
	movl $0x10, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	movabsq $boot_stack_top, %rsp    /* same stack, now through its high address */
	xorl %ebp, %ebp                  /* terminates backtraces */
	/* EDI = magic, ESI = boot info physical address (zero-extended). */
	movl %edi, %edi
	movl %esi, %esi
	call kmain
5:	cli
	hlt
	jmp 5b

	.bss
	.align 4096
	.globl boot_pml4
boot_pml4:	.skip 4096
boot_pdpt:	.skip 4096
boot_pd:	.skip 4096
	.globl boot_stack_bottom, boot_stack_top
boot_stack_bottom:
	.skip 16384
boot_stack_top:
