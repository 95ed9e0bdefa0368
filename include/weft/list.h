/* list.h - intrusive doubly linked circular lists. */
#ifndef WEFT_LIST_H
#define WEFT_LIST_H
#include <stddef.h>
#include <stdbool.h>

struct list_head {
	struct list_head *next, *prev;
};

#define LIST_HEAD_INIT(name) { &(name), &(name) }
static inline void list_init(struct list_head *h) { h->next = h->prev = h; }
static inline bool list_empty(const struct list_head *h) { return h->next == h; }
static inline void list_insert_between(struct list_head *n, struct list_head *a, struct list_head *b)
{
	n->prev = a;
	n->next = b;
	a->next = n;
	b->prev = n;
}
static inline void list_add_tail(struct list_head *n, struct list_head *h) { list_insert_between(n, h->prev, h); }
static inline void list_add(struct list_head *n, struct list_head *h) { list_insert_between(n, h, h->next); }
static inline void list_del(struct list_head *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = n;
}
#define container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))
#define list_for_each(pos, head) for (pos = (head)->next; pos != (head); pos = pos->next)
#define list_for_each_safe(pos, tmp, head) \
	for (pos = (head)->next, tmp = pos->next; pos != (head); pos = tmp, tmp = pos->next)
#endif
