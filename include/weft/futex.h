/* futex.h - fast user-space mutexes: the kernel half (kernel/futex.c).
 *
 * A futex is a 32-bit word in user memory. User code does the
 * uncontended work with atomic instructions; the kernel only queues
 * threads that must wait on a word and wakes them, checking the word's
 * value under the queue's lock so that a wake between the user's check
 * and its sleep is never lost.
 */
#ifndef WEFT_FUTEX_H
#define WEFT_FUTEX_H
#include <stdint.h>

struct thread;

long sys_futex(uint64_t uaddr, uint64_t op, uint64_t val, uint64_t timeout, uint64_t uaddr2,
	       uint64_t val3);
long sys_set_robust_list(uint64_t head, uint64_t len);
long sys_get_robust_list(uint64_t pid, uint64_t head_ptr, uint64_t len_ptr);

/* Wake up to n waiters on the shared futex at uaddr in the current address
 * space (CLONE_CHILD_CLEARTID's wake, shared as on Linux). */
int futex_wake_address(uint64_t uaddr, int n);
/* The current thread t is exiting, its address space still loaded: mark
 * the robust futexes it still holds OWNER_DIED and wake a waiter on each
 * non-PI one; hand each PI lock it owns that has waiters to the first of
 * them (OWNER_DIED set); from then on FUTEX_LOCK_PI on a word naming it
 * fails with ESRCH. Call before the thread leaves proc->threads and
 * before CLONE_CHILD_CLEARTID's wake (a joiner then finds it all done). */
void futex_exit(struct thread *t);
/* Every queued futex waiter, with the word it waits on (hang reports).
 * Any context; does not wait for the bucket locks. */
void futex_dump(void);
#endif
