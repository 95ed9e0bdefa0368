/*
 * trampoline.S - an application processor's way from real mode to C.
 *
 * smpboot.c copies the bytes between smp_trampoline_start and
 * smp_trampoline_end to a page below 1 MiB and fills in the struct
 * trampoline_data at TRAMP_DATA_OFF in that page (<arch/smp.h>). The
 * start-up IPI makes the AP begin here in 16-bit real mode with
 * CS = page >> 4, IP = 0, interrupts off, paging off and its caches
 * disabled (CR0.CD/NW from INIT). The code is position-independent: every
 * absolute address it needs (far jump targets, the GDT base) was written
 * into the data by the boot CPU, and later code addresses the data through
 * EBP = the page's physical base.
 *
 * Steps: real mode -> protected mode (flat 32-bit segments) -> PAE, CR3 =
 * the low PML4, EFER.LME(+NXE), CR0.PG: long mode, compatibility mode ->
 * far jump to a 64-bit code segment -> jump to smp_ap_entry64 at its kernel
 * address -> kernel CR3, the idle thread's stack, call smp_ap_main(percpu).
 * No stack is used before that last step.
 */
#include <arch/smp.h>

#define MSR_EFER 0xC0000080

	.section .rodata
	.balign 16
	.globl smp_trampoline_start, smp_trampoline_end
	.code16
smp_trampoline_start:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds                     /* DS = CS: TD_* are offsets in this page */
	movzwl %ax, %ebp
	shll $4, %ebp                     /* EBP = physical base of the page (CS * 16) */
	movl $1, TD_STARTED               /* the boot CPU sees we woke up */
	lgdtl TD_GDTR                     /* the trampoline's GDT (32-bit base) */
	movl %cr0, %eax
	orl $1, %eax                      /* CR0.PE */
	movl %eax, %cr0
	ljmpl *TD_FAR32                   /* CS = TRAMP_CS32: 32-bit protected mode */

	.code32
	.globl smp_trampoline_prot32
smp_trampoline_prot32:
	movl $TRAMP_DS, %eax              /* flat data segments */
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl $TRAMP_CR4, %eax             /* PAE (needed for long mode) and PGE */
	movl %eax, %cr4
	movl TD_PML4(%ebp), %eax          /* low tables: identity 0..2 MiB + kernel half */
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl TD_EFER(%ebp), %eax           /* LME, and NXE if the kernel's PTEs use NX */
	wrmsr
	movl $TRAMP_CR0, %eax             /* PG|WP|NE|ET|PE; CD and NW cleared */
	movl %eax, %cr0                   /* long mode is active: compatibility mode */
	ljmpl *TD_FAR64(%ebp)             /* CS = TRAMP_CS64: 64-bit mode */

	.code64
	.globl smp_trampoline_long64
smp_trampoline_long64:
	movl %ebp, %ebp                   /* upper halves are undefined after the switch */
	jmpq *TD_ENTRY(%rbp)              /* smp_ap_entry64, through the shared kernel half */
smp_trampoline_end:

	/* The data area starts at TRAMP_DATA_OFF: the code must end before it. */
	.if (smp_trampoline_end - smp_trampoline_start) > TRAMP_DATA_OFF
	.error "trampoline code overlaps its data"
	.endif

	.text
	.code64
/* Still on the low tables, RBP = the trampoline page's physical base
 * (identity-mapped), interrupts off. Read everything from the page before
 * CR3 changes: the kernel's tables do not map it. */
	.globl smp_ap_entry64
smp_ap_entry64:
	movq TD_STACK(%rbp), %rsp         /* top of the idle thread's guard-paged stack */
	movq TD_ARG(%rbp), %rdi           /* 1st argument: this AP's struct percpu */
	movq TD_CR3(%rbp), %rax
	movq %rax, %cr3                   /* the kernel's tables from now on */
	xorl %ebp, %ebp                   /* ends backtraces */
	call smp_ap_main                  /* RSP was 16-aligned: the ABI's entry state */
	ud2                               /* smp_ap_main never returns */
