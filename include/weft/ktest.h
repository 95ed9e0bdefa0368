/* ktest.h - in-kernel tests, reported in KTAP over the console.
 *
 *   KTEST(pmm, alloc_every_page) { ...; KT_EXPECT(t, a == b, "got %d", a); }
 *
 * registers a test in suite `pmm`. Booting with test=all (or
 * test=pmm,traps) runs the selected suites in link order, prints KTAP
 * version 1 (one subtest per suite) and leaves QEMU with the pass/fail
 * code (kernel/ktest.c). A check that fails prints its line, the
 * condition and the message as a KTAP diagnostic, then the test goes on
 * (KT_ASSERT returns from the test instead).
 */
#ifndef WEFT_KTEST_H
#define WEFT_KTEST_H
#include <stdbool.h>
#include <stdint.h>

struct ktest_ctx {
	bool failed;
	bool skipped;
	const char *skip_reason;
	unsigned checks;
};

struct ktest {
	const char *suite;
	const char *name;
	void (*fn)(struct ktest_ctx *t);
};

#define KTEST(suite, name)                                                           \
	static void ktest_fn_##suite##_##name(struct ktest_ctx *t);                  \
	static const struct ktest ktest_desc_##suite##_##name                        \
		__attribute__((used, section(".ktests"), aligned(8))) = {            \
			#suite, #name, ktest_fn_##suite##_##name                     \
		};                                                                   \
	static void ktest_fn_##suite##_##name(struct ktest_ctx *t)

__attribute__((format(printf, 5, 6))) bool ktest_check(struct ktest_ctx *t, bool ok,
						       const char *cond, int line,
						       const char *fmt, ...);
#define KT_EXPECT(t, cond, ...) ktest_check((t), !!(cond), #cond, __LINE__, __VA_ARGS__)
#define KT_ASSERT(t, cond, ...)                                                      \
	do {                                                                         \
		if (!KT_EXPECT(t, cond, __VA_ARGS__))                                \
			return;                                                      \
	} while (0)
#define KT_EXPECT_EQ(t, a, b)                                                        \
	KT_EXPECT(t, (uint64_t)(a) == (uint64_t)(b), "expected %s == %#lx, got %#lx", #b, \
		  (unsigned long)(uint64_t)(b), (unsigned long)(uint64_t)(a))

/* A diagnostic line ("# ...") in the test's KTAP output. */
__attribute__((format(printf, 2, 3))) void ktest_diag(struct ktest_ctx *t, const char *fmt, ...);
/* Mark the test skipped (only where the machine truly lacks something). */
void ktest_skip(struct ktest_ctx *t, const char *reason);

/* Run the suites named by `selection` ("all" or comma-separated names).
 * Returns the number of failed tests. */
unsigned ktest_run(const char *selection);
/* Print the registered suites and tests (console command `tests`). */
void ktest_list(void);
#endif
