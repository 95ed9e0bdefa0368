/* t_fpu - floating-point and vector state belongs to each thread and
 * survives everything the kernel does in between: four threads keep
 * different values live in all 16 XMM (then YMM) registers and the whole
 * x87 stack (in 80-bit precision, which a 64-bit save would lose) while
 * they yield, spin long enough to be preempted and take signals whose
 * handler overwrites every vector register, MXCSR, the x87 control word
 * and the x87 stack. Each thread also runs with its own rounding mode in
 * MXCSR and in the x87 control word; afterwards the modes must be intact
 * and still steer arithmetic. Signal handlers must start with the default
 * MXCSR and x87 control word, as Linux gives them. */
#define _GNU_SOURCE
#include <cpuid.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include "tap.h"

#define THREADS 4
#define ROUNDS 60        /* yields per phase */
#define SPIN 50000       /* busy-loop iterations per round: preemption happens here */
#define FCW_MASK 0x1f3f  /* the defined bits of the x87 control word */

/* Everything one asm block reads and writes, addressed off one pointer. */
struct block {
	double vin[16][4], vout[16][4];   /* 16 registers x 4 doubles (XMM uses 2) */
	long double xin[7], xout[7];      /* 7 x87 registers; the 8th is scratch */
	double ones[4];
	long rounds, spin;
};

static int have_avx;
static volatile int stop;
static pthread_t workers[THREADS];
static int finished, signals_taken, handler_bad_state;

/* cpuid: AVX and OSXSAVE; xgetbv: the OS enabled XMM and YMM state. */
static int avx_usable(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_AVX) || !(c & bit_OSXSAVE))
		return 0;
	unsigned lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (lo & 6) == 6;
}

#define STR_(x) #x
#define STR(x) STR_(x)
#define X87_LOAD(n) "fldt %c[xin]+" #n "*16(%[b])\n"
#define X87_STORE(n) "fstpt %c[xout]+" #n "*16(%[b])\n"
#define X87_ALL(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6)
#define X87_ALL_REV(M) M(6) M(5) M(4) M(3) M(2) M(1) M(0)
/* st(0) = 1.0 is added to st(1)..st(7), then popped. */
#define X87_STEP "fld1\n fadd %%st(0), %%st(1)\n fadd %%st(0), %%st(2)\n fadd %%st(0), %%st(3)\n" \
	"fadd %%st(0), %%st(4)\n fadd %%st(0), %%st(5)\n fadd %%st(0), %%st(6)\n" \
	"fadd %%st(0), %%st(7)\n fstp %%st(0)\n"
#define REGS16(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14) M(15)
#define SSE_LOAD(n) "movupd %c[vin]+" #n "*32(%[b]), %%xmm" #n "\n"
#define SSE_STORE(n) "movupd %%xmm" #n ", %c[vout]+" #n "*32(%[b])\n"
#define SSE_ADD(n) "addpd %c[ones](%[b]), %%xmm" #n "\n"
#define AVX_LOAD(n) "vmovupd %c[vin]+" #n "*32(%[b]), %%ymm" #n "\n"
#define AVX_STORE(n) "vmovupd %%ymm" #n ", %c[vout]+" #n "*32(%[b])\n"
#define AVX_ADD(n) "vaddpd %c[ones](%[b]), %%ymm" #n ", %%ymm" #n "\n"
/* One round: sched_yield() by hand (the values stay in registers across the
 * system call), then a busy loop. */
#define ROUND_BODY "mov $24, %%eax\n syscall\n mov %c[spin](%[b]), %%rdx\n" \
	"2: dec %%rdx\n jnz 2b\n"
#define BLOCK_OPERANDS : [b] "r"(blk), [vin] "i"(offsetof(struct block, vin)), \
	[vout] "i"(offsetof(struct block, vout)), [xin] "i"(offsetof(struct block, xin)), \
	[xout] "i"(offsetof(struct block, xout)), [ones] "i"(offsetof(struct block, ones)), \
	[spin] "i"(offsetof(struct block, spin)), [rounds] "i"(offsetof(struct block, rounds)) \
	: "rax", "rcx", "rdx", "r11", "r8", "memory", "cc", "st", "st(1)", "st(2)", "st(3)", \
	"st(4)", "st(5)", "st(6)", "st(7)", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", \
	"xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"

static void hold_sse(struct block *blk)
{
	__asm__ volatile(X87_ALL(X87_LOAD) REGS16(SSE_LOAD)
			 "mov %c[rounds](%[b]), %%r8\n"
			 "1:\n" ROUND_BODY X87_STEP REGS16(SSE_ADD)
			 "dec %%r8\n jnz 1b\n"
			 REGS16(SSE_STORE) X87_ALL_REV(X87_STORE)
			 : BLOCK_OPERANDS);
}

static void hold_avx(struct block *blk)
{
	__asm__ volatile(X87_ALL(X87_LOAD) REGS16(AVX_LOAD)
			 "mov %c[rounds](%[b]), %%r8\n"
			 "1:\n" ROUND_BODY X87_STEP REGS16(AVX_ADD)
			 "dec %%r8\n jnz 1b\n"
			 REGS16(AVX_STORE) X87_ALL_REV(X87_STORE) "vzeroupper\n"
			 : BLOCK_OPERANDS);
}

/* The handler checks it got a clean FPU state, then wrecks all of it. */
static void scribble(int sig)
{
	(void)sig;
	static const double junk[4] __attribute__((aligned(32))) = { -1e300, 3.5, -7.25, 1e-300 };
	unsigned mx;
	unsigned short cw;
	__asm__ volatile("stmxcsr %0\n fnstcw %1" : "=m"(mx), "=m"(cw));
	if ((mx & 0xffc0) != 0x1f80 || (cw & FCW_MASK) != (0x037f & FCW_MASK))
		__atomic_add_fetch(&handler_bad_state, 1, __ATOMIC_SEQ_CST);
#define JUNK_AVX(n) "vmovapd %0, %%ymm" #n "\n"
#define JUNK_SSE(n) "movapd %0, %%xmm" #n "\n"
	if (have_avx)
		__asm__ volatile(REGS16(JUNK_AVX) "vzeroupper\n" REGS16(JUNK_SSE) : : "m"(junk)
				 : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
				   "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
	else
		__asm__ volatile(REGS16(JUNK_SSE) : : "m"(junk)
				 : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
				   "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
	/* Round toward zero with flush-to-zero; x87: 24-bit precision, round up,
	 * then a full stack of pi (the interrupted code's stack is gone). */
	unsigned bad_mx = 0xff80;
	unsigned short bad_cw = 0x087f;
	__asm__ volatile("ldmxcsr %0\n fninit\n fldcw %1\n"
			 "fldpi\n fldpi\n fldpi\n fldpi\n fldpi\n fldpi\n fldpi\n fldpi\n"
			 : : "m"(bad_mx), "m"(bad_cw) : "st", "st(1)", "st(2)", "st(3)", "st(4)",
			   "st(5)", "st(6)", "st(7)");
	__atomic_add_fetch(&signals_taken, 1, __ATOMIC_SEQ_CST);
}

/* Rounding-sensitive quotients: 1/5, 1/3 and -1/3 tell all four modes apart. */
struct quot {
	double d[3];
	long double x[3];
};

static void quotients(struct quot *q)
{
	volatile double one = 1, three = 3, five = 5;
	volatile long double lone = 1, lthree = 3, lfive = 5;
	memset(q, 0, sizeof *q);
	q->d[0] = one / five;
	q->d[1] = one / three;
	q->d[2] = -one / three;
	q->x[0] = lone / lfive;
	q->x[1] = lone / lthree;
	q->x[2] = -lone / lthree;
}

static struct quot reference[4];    /* per rounding mode, computed up front */

static unsigned mxcsr_for(int mode) { return 0x1f80u | (unsigned)mode << 13 | (mode == 3 ? 0x8000u : 0); }
static unsigned short fcw_for(int mode) { return (unsigned short)(0x037f | mode << 10); }

static void set_modes(unsigned mx, unsigned short cw)
{
	__asm__ volatile("ldmxcsr %0\n fldcw %1" : : "m"(mx), "m"(cw));
}

struct outcome {
	int sse, avx, x87, control, rounding;
};
static struct outcome outcome[THREADS];

static void fill(struct block *blk, int id, int phase)
{
	memset(blk, 0, sizeof *blk);
	for (int r = 0; r < 16; r++)
		for (int l = 0; l < 4; l++)
			blk->vin[r][l] = 1000.0 * (id + 1) + 64 * r + 16 * l + 0.25 * phase + 0.125;
	/* 2^12 + k + (j+1) 2^-50 needs 63 significant bits: exact in x87's
	 * 64-bit mantissa, lost if the state were kept as doubles. */
	for (int j = 0; j < 7; j++)
		blk->xin[j] = 4096.0L + 100 * id + 10 * j + phase + (j + 1) * 0x1p-50L;
	for (int l = 0; l < 4; l++)
		blk->ones[l] = 1.0;
	blk->rounds = ROUNDS;
	blk->spin = SPIN;
}

/* Compare what came back; lanes = 2 for XMM, 4 for YMM. */
static int check(const struct block *blk, int lanes, int *x87)
{
	int good = 1;
	for (int r = 0; r < 16; r++)
		for (int l = 0; l < lanes; l++) {
			double want = blk->vin[r][l] + ROUNDS;
			good &= !memcmp(&blk->vout[r][l], &want, sizeof want);
		}
	for (int j = 0; j < 7; j++) {
		long double want = blk->xin[j] + ROUNDS;
		*x87 &= !memcmp(&blk->xout[j], &want, 10);
	}
	return good;
}

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg, mode = id & 3;
	struct outcome *o = &outcome[id];
	static struct block blocks[THREADS];
	struct block *blk = &blocks[id];
	set_modes(mxcsr_for(mode), fcw_for(mode));

	int x87 = 1;
	fill(blk, id, 0);
	hold_sse(blk);
	o->sse = check(blk, 2, &x87);
	if (have_avx) {
		fill(blk, id, 1);
		hold_avx(blk);
		o->avx = check(blk, 4, &x87);
	}
	o->x87 = x87;

	unsigned mx;
	unsigned short cw;
	__asm__ volatile("stmxcsr %0\n fnstcw %1" : "=m"(mx), "=m"(cw));
	o->control = (mx & 0xffc0) == mxcsr_for(mode) && (cw & FCW_MASK) == (fcw_for(mode) & FCW_MASK);
	struct quot q;
	quotients(&q);
	o->rounding = !memcmp(q.d, reference[mode].d, sizeof q.d) &&
		      !memcmp(&q.x[0], &reference[mode].x[0], 10) &&
		      !memcmp(&q.x[1], &reference[mode].x[1], 10) &&
		      !memcmp(&q.x[2], &reference[mode].x[2], 10);
	/* Stay alive until the pester thread is gone: pthread_kill on a
	 * joined thread would touch freed memory. */
	__atomic_add_fetch(&finished, 1, __ATOMIC_SEQ_CST);
	while (!stop)
		sched_yield();
	return NULL;
}

static void *pester(void *arg)
{
	(void)arg;
	struct timespec gap = { 0, 200 * 1000 };
	while (!stop) {
		for (int i = 0; i < THREADS; i++)
			pthread_kill(workers[i], SIGUSR1);
		nanosleep(&gap, NULL);
	}
	return NULL;
}

int main(void)
{
	plan(5 + 5 * THREADS);
	have_avx = avx_usable();
	if (have_avx)
		diag("AVX usable: checking all 16 YMM registers too");
	else
		diag("no AVX (cpuid/XCR0): only XMM and x87 are checked");

	/* Reference quotients in each mode, on this thread. */
	for (int m = 0; m < 4; m++) {
		set_modes(mxcsr_for(m), fcw_for(m));
		quotients(&reference[m]);
	}
	set_modes(0x1f80, 0x037f);
	int distinct = 1;
	for (int a = 0; a < 4; a++)
		for (int b = 0; b < a; b++)
			distinct &= memcmp(reference[a].d, reference[b].d, sizeof reference[a].d) != 0 &&
				    (memcmp(&reference[a].x[0], &reference[b].x[0], 10) ||
				     memcmp(&reference[a].x[1], &reference[b].x[1], 10) ||
				     memcmp(&reference[a].x[2], &reference[b].x[2], 10));
	ok(distinct, "the four rounding modes give four different sets of quotients");

	struct sigaction sa = { .sa_handler = scribble };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	for (intptr_t i = 0; i < THREADS; i++)
		pthread_create(&workers[i], NULL, worker, (void *)i);
	pthread_t p;
	pthread_create(&p, NULL, pester, NULL);
	while (__atomic_load_n(&finished, __ATOMIC_SEQ_CST) < THREADS)
		sched_yield();
	stop = 1;
	pthread_join(p, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(workers[i], NULL);

	static const char *const names[4] = { "nearest", "down", "up", "toward zero" };
	for (int i = 0; i < THREADS; i++) {
		struct outcome *o = &outcome[i];
		ok(o->sse, "thread %d: all 16 XMM registers bit-exact after %d yields", i, ROUNDS);
		if (have_avx)
			ok(o->avx, "thread %d: all 16 YMM registers (both halves) bit-exact", i);
		else
			skip("no AVX on this CPU/OS");
		ok(o->x87, "thread %d: the 7 x87 registers kept all 64 mantissa bits", i);
		ok(o->control, "thread %d: its MXCSR (%#x) and x87 control word (%#x) survived", i,
		   mxcsr_for(i & 3), fcw_for(i & 3));
		ok(o->rounding, "thread %d: arithmetic still rounds %s (SSE and x87)", i,
		   names[i & 3]);
	}
	ok(signals_taken > 0, "signal handlers wrecked the FPU state %d times meanwhile", signals_taken);
	ok(handler_bad_state == 0,
	   "every handler started with MXCSR 0x1f80 and x87 control word 0x37f (%d did not)",
	   handler_bad_state);
	unsigned mx;
	unsigned short cw;
	__asm__ volatile("stmxcsr %0\n fnstcw %1" : "=m"(mx), "=m"(cw));
	ok((mx & 0xffc0) == 0x1f80 && (cw & FCW_MASK) == (0x037f & FCW_MASK),
	   "the main thread's MXCSR and control word are its own");
	volatile double third = 1.0 / 3.0;
	ok(third * 3.0 == 1.0, "plain floating point still works");
	return done();
}
