/* test_avl.c - host tests for lib/avl.c, the intrusive AVL tree.
 *
 * Random inserts and removes of distinct keys, checked against a
 * reference set (a byte per key): after every operation the whole tree is
 * verified - search order, parent links, stored heights, the balance
 * condition, and two augmented values kept by the update callback (the
 * subtree's node count and the sum of a per-node weight) - and the
 * in-order walks forwards (avl_first/avl_next) and backwards
 * (avl_last/avl_prev) must list exactly the reference keys. Weights are
 * changed in place and avl_propagate() must bring the sums up to date.
 * Sequential inserts and removes (the worst case for an unbalanced tree)
 * must keep the height within the AVL bound. */
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <stdint.h>
#include "tap.h"
#include <weft/list.h>
#include "../../lib/avl.c"

#define NKEYS 2000

struct item {
	struct avl_node node;
	int key;
	long weight;
	int count;       /* augmented: nodes in this subtree */
	long sum;        /* augmented: weights in this subtree */
};

static struct item items[NKEYS];
static unsigned char present[NKEYS];
static int npresent;

static struct item *item_of(struct avl_node *n) { return n ? container_of(n, struct item, node) : NULL; }

static void update(struct avl_node *n)
{
	struct item *it = item_of(n), *l = item_of(n->left), *r = item_of(n->right);
	it->count = 1 + (l ? l->count : 0) + (r ? r->count : 0);
	it->sum = it->weight + (l ? l->sum : 0) + (r ? r->sum : 0);
}

static struct avl_tree tree = { .root = NULL, .update = update };

static void insert(int key)
{
	struct avl_node **link = &tree.root, *parent = NULL;
	while (*link) {
		parent = *link;
		link = key < item_of(parent)->key ? &parent->left : &parent->right;
	}
	items[key].key = key;
	avl_insert(&tree, &items[key].node, parent, link);
	present[key] = 1;
	npresent++;
}

static void remove_key(int key)
{
	avl_remove(&tree, &items[key].node);
	present[key] = 0;
	npresent--;
}

/* Verify the subtree at n (keys within (lo, hi)); returns its height, or
 * -1 after reporting the first problem found. */
static int check(struct avl_node *n, struct avl_node *parent, int lo, int hi, const char **why)
{
	if (!n)
		return 0;
	struct item *it = item_of(n);
	if (n->parent != parent)
		return *why = "parent link", -1;
	if (it->key <= lo || it->key >= hi)
		return *why = "search order", -1;
	int l = check(n->left, n, lo, it->key, why);
	if (l < 0)
		return -1;
	int r = check(n->right, n, it->key, hi, why);
	if (r < 0)
		return -1;
	if (n->height != 1 + (l > r ? l : r))
		return *why = "stored height", -1;
	if (l - r > 1 || r - l > 1)
		return *why = "balance", -1;
	struct item *li = item_of(n->left), *ri = item_of(n->right);
	if (it->count != 1 + (li ? li->count : 0) + (ri ? ri->count : 0) ||
	    it->sum != it->weight + (li ? li->sum : 0) + (ri ? ri->sum : 0))
		return *why = "augmented value", -1;
	return n->height;
}

/* The whole tree against the reference set. */
static bool tree_ok(const char **why)
{
	*why = NULL;
	if (check(tree.root, NULL, -1, NKEYS, why) < 0)
		return false;
	long sum = 0;
	int want = -1, seen = 0;
	for (struct avl_node *n = avl_first(&tree); n; n = avl_next(n), seen++) {
		do
			want++;
		while (want < NKEYS && !present[want]);
		if (want >= NKEYS || item_of(n)->key != want)
			return *why = "forward walk", false;
		sum += item_of(n)->weight;
	}
	if (seen != npresent || (tree.root && (item_of(tree.root)->count != npresent ||
					       item_of(tree.root)->sum != sum)))
		return *why = "node count or weight sum", false;
	want = NKEYS;
	for (struct avl_node *n = avl_last(&tree); n; n = avl_prev(n)) {
		do
			want--;
		while (want >= 0 && !present[want]);
		if (want < 0 || item_of(n)->key != want)
			return *why = "backward walk", false;
	}
	return true;
}

/* Largest height an AVL tree of n nodes can have: the largest h whose
 * sparsest AVL tree (N(h) = N(h-1) + N(h-2) + 1 nodes) fits in n. */
static int avl_bound(int n)
{
	long a = 0, b = 1;   /* N(h-1), N(h) */
	int h = 1;
	while (a + b + 1 <= n) {
		long c = a + b + 1;
		a = b;
		b = c;
		h++;
	}
	return n ? h : 0;
}

static void test_random(void)
{
	srand(12345);
	const char *why = NULL;
	int ops = 0, bad_at = -1;
	for (int round = 0; round < 40000 && bad_at < 0; round++, ops++) {
		int key = rand() % NKEYS;
		if (present[key] && rand() % 3 != 0) {
			remove_key(key);
		} else if (!present[key]) {
			items[key].weight = rand() % 1000;
			insert(key);
		} else {
			items[key].weight = rand() % 1000;   /* change in place */
			avl_propagate(&tree, &items[key].node);
		}
		if ((round < 4000 || round % 97 == 0) && !tree_ok(&why))
			bad_at = round;
	}
	ok(bad_at < 0, "40000 random inserts/removes/weight changes keep every invariant (%s at op %d)",
	   why ? why : "none", bad_at);
	int h = avl_height(tree.root);
	ok(h <= avl_bound(npresent), "height %d with %d nodes is within the AVL bound %d", h, npresent,
	   avl_bound(npresent));
	while (tree.root)
		remove_key(item_of(tree.root)->key);   /* remove the root again and again */
	diag("%d operations", ops);
	ok(npresent == 0 && !tree.root && tree_ok(&why), "removing the root until empty (%s)",
	   why ? why : "fine");
}

static void test_sequential(void)
{
	const char *why = NULL;
	for (int k = 0; k < NKEYS; k++) {
		items[k].weight = k;
		insert(k);
	}
	bool good = tree_ok(&why);
	int h = avl_height(tree.root);
	ok(good && h <= avl_bound(NKEYS), "%d ascending inserts: valid (%s), height %d <= %d", NKEYS,
	   why ? why : "fine", h, avl_bound(NKEYS));
	for (int k = 0; k < NKEYS; k += 2)
		remove_key(k);
	good = tree_ok(&why);
	h = avl_height(tree.root);
	ok(good && h <= avl_bound(npresent), "every other key removed: valid (%s), height %d <= %d",
	   why ? why : "fine", h, avl_bound(npresent));
	for (int k = NKEYS - 1; k >= 0; k -= 2)
		remove_key(k);
	ok(!tree.root && npresent == 0 && !avl_first(&tree) && !avl_last(&tree),
	   "the rest removed in descending order: empty");
}

static void test_neighbours(void)
{
	for (int k = 0; k < 3; k++)
		insert(k);
	struct avl_node *a = &items[0].node, *c = &items[2].node;
	ok(avl_first(&tree) == a && avl_last(&tree) == c && !avl_prev(a) && !avl_next(c) &&
		   avl_next(a) == &items[1].node && avl_prev(c) == &items[1].node,
	   "first/last/next/prev on a three-node tree");
	for (int k = 0; k < 3; k++)
		remove_key(k);
}

int main(void)
{
	test_neighbours();
	test_random();
	test_sequential();
	return done_testing();
}
