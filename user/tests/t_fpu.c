/* t_fpu - vector and x87 state belongs to each thread: several threads
 * hold different patterns in all 16 YMM (or XMM) registers and the x87
 * stack while they yield, spin (and are preempted) and take signals whose
 * handler scribbles over every register; afterwards each must read back
 * exactly its own values. MXCSR and the x87 control word too. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sched.h>
#include <cpuid.h>
#include <sys/syscall.h>
#include "../lib/tap.h"

#define THREADS 4
#define ROUNDS 40
static int have_avx;
static volatile int stop;
static pthread_t workers[THREADS];
static volatile int signals_taken;
static int finished;

static int avx_usable(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 28)) || !(c & (1u << 27)))
		return 0;
	unsigned lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (lo & 6) == 6;
}

/* The handler dirties every vector register, MXCSR and the x87 stack. */
static void scribble(int sig)
{
	(void)sig;
	static const uint8_t junk[32] __attribute__((aligned(32))) = { [0 ... 31] = 0xee };
	if (have_avx)
		__asm__ volatile("vmovdqa %0, %%ymm0; vmovdqa %0, %%ymm1; vmovdqa %0, %%ymm7; "
				 "vmovdqa %0, %%ymm8; vmovdqa %0, %%ymm15" : : "m"(junk)
				 : "xmm0", "xmm1", "xmm7", "xmm8", "xmm15");
	else
		__asm__ volatile("movdqa %0, %%xmm0; movdqa %0, %%xmm7; movdqa %0, %%xmm15" : : "m"(junk)
				 : "xmm0", "xmm7", "xmm15");
	unsigned m = 0x1f80 | (3u << 13);   /* round toward zero */
	__asm__ volatile("ldmxcsr %0; fldpi; fldpi" : : "m"(m));
	signals_taken++;
}

/* Load 16 registers from in[], yield and spin `rounds` times with the
 * values held only in registers, store them to out[]. */
static void hold(const uint8_t *in, uint8_t *out, int rounds)
{
	if (have_avx)
		__asm__ volatile(
			"vmovdqu 0(%0), %%ymm0\n vmovdqu 32(%0), %%ymm1\n vmovdqu 64(%0), %%ymm2\n"
			"vmovdqu 96(%0), %%ymm3\n vmovdqu 128(%0), %%ymm4\n vmovdqu 160(%0), %%ymm5\n"
			"vmovdqu 192(%0), %%ymm6\n vmovdqu 224(%0), %%ymm7\n vmovdqu 256(%0), %%ymm8\n"
			"vmovdqu 288(%0), %%ymm9\n vmovdqu 320(%0), %%ymm10\n vmovdqu 352(%0), %%ymm11\n"
			"vmovdqu 384(%0), %%ymm12\n vmovdqu 416(%0), %%ymm13\n vmovdqu 448(%0), %%ymm14\n"
			"vmovdqu 480(%0), %%ymm15\n"
			"1: mov $24, %%eax\n syscall\n"            /* sched_yield */
			"mov $20000, %%ecx\n 2: pause\n dec %%ecx\n jnz 2b\n"
			"dec %2\n jnz 1b\n"
			"vmovdqu %%ymm0, 0(%1)\n vmovdqu %%ymm1, 32(%1)\n vmovdqu %%ymm2, 64(%1)\n"
			"vmovdqu %%ymm3, 96(%1)\n vmovdqu %%ymm4, 128(%1)\n vmovdqu %%ymm5, 160(%1)\n"
			"vmovdqu %%ymm6, 192(%1)\n vmovdqu %%ymm7, 224(%1)\n vmovdqu %%ymm8, 256(%1)\n"
			"vmovdqu %%ymm9, 288(%1)\n vmovdqu %%ymm10, 320(%1)\n vmovdqu %%ymm11, 352(%1)\n"
			"vmovdqu %%ymm12, 384(%1)\n vmovdqu %%ymm13, 416(%1)\n vmovdqu %%ymm14, 448(%1)\n"
			"vmovdqu %%ymm15, 480(%1)\n"
			: : "r"(in), "r"(out), "r"(rounds)
			: "rax", "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
			  "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
			  "xmm15");
	else
		__asm__ volatile(
			"movdqu 0(%0), %%xmm0\n movdqu 32(%0), %%xmm1\n movdqu 64(%0), %%xmm2\n"
			"movdqu 96(%0), %%xmm3\n movdqu 448(%0), %%xmm14\n movdqu 480(%0), %%xmm15\n"
			"1: mov $24, %%eax\n syscall\n"
			"mov $20000, %%ecx\n 2: pause\n dec %%ecx\n jnz 2b\n"
			"dec %2\n jnz 1b\n"
			"movdqu %%xmm0, 0(%1)\n movdqu %%xmm1, 32(%1)\n movdqu %%xmm2, 64(%1)\n"
			"movdqu %%xmm3, 96(%1)\n movdqu %%xmm14, 448(%1)\n movdqu %%xmm15, 480(%1)\n"
			: : "r"(in), "r"(out), "r"(rounds)
			: "rax", "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm14", "xmm15");
}

static int result[THREADS], x87_ok[THREADS], mxcsr_ok[THREADS];

static void *worker(void *arg)
{
	long id = (long)arg;
	uint8_t in[512], out[512];
	for (int i = 0; i < 512; i++)
		in[i] = (uint8_t)(id * 37 + i * 11 + 1);
	memset(out, 0, sizeof out);
	/* This thread's own rounding mode and x87 precision control. */
	unsigned m = 0x1f80 | ((unsigned)(id & 3) << 13), m2 = 0;
	unsigned short cw = (unsigned short)(0x027f | ((id & 1) << 10)), cw2 = 0;
	__asm__ volatile("ldmxcsr %0; fldcw %1" : : "m"(m), "m"(cw));
	double x = 1.0 + (double)id, y;
	__asm__ volatile("fldl %0" : : "m"(x));          /* a value on the x87 stack */
	hold(in, out, ROUNDS);
	__asm__ volatile("fstpl %0" : "=m"(y));
	__asm__ volatile("stmxcsr %0; fnstcw %1" : "=m"(m2), "=m"(cw2));
	int same = 1, n = have_avx ? 512 : 0;
	if (have_avx) {
		same = !memcmp(in, out, n);
	} else {
		for (int r = 0; r < 16; r++)
			if (r < 4 || r >= 14)
				same &= !memcmp(in + 32 * r, out + 32 * r, 16);
	}
	result[id] = same;
	x87_ok[id] = y == x && cw2 == cw;
	mxcsr_ok[id] = m2 == m;
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
	while (!stop) {
		for (int i = 0; i < THREADS; i++)
			pthread_kill(workers[i], SIGUSR1);
		usleep(2000);
	}
	return NULL;
}

int main(void)
{
	plan(5);
	have_avx = avx_usable();
	diag("%s", have_avx ? "AVX: checking all 16 YMM registers" : "no AVX: checking XMM registers");
	struct sigaction sa = { .sa_handler = scribble };
	sigaction(SIGUSR1, &sa, NULL);
	pthread_t p;
	for (long i = 0; i < THREADS; i++)
		pthread_create(&workers[i], NULL, worker, (void *)i);
	pthread_create(&p, NULL, pester, NULL);
	while (__atomic_load_n(&finished, __ATOMIC_SEQ_CST) < THREADS)
		sched_yield();
	stop = 1;
	pthread_join(p, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(workers[i], NULL);
	int all = 1, x87 = 1, mx = 1;
	for (int i = 0; i < THREADS; i++) {
		all &= result[i];
		x87 &= x87_ok[i];
		mx &= mxcsr_ok[i];
	}
	ok(all, "%d threads got back their own vector registers, bit for bit", THREADS);
	ok(x87, "x87 stack values and control words survived");
	ok(mx, "each thread kept its own MXCSR");
	ok(signals_taken > 0, "signal handlers scribbled %d times meanwhile", signals_taken);
	double a = 1.0 / 3.0;
	ok(a * 3.0 > 0.99 && a * 3.0 < 1.01, "plain floating point still works");
	return done();
}
