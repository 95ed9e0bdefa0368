/* avl.h - intrusive AVL trees (lib/avl.c), optionally augmented.
 *
 * A node is embedded in the caller's structure (container_of gets it
 * back). The tree does not know the key: the caller walks down from
 * tree->root comparing keys, then links the new node where the walk fell
 * off (avl_insert). Every operation is O(log n) and keeps the AVL
 * invariant: at each node the heights of the two subtrees differ by at
 * most 1, so the height is below 1.45 log2(n + 2).
 *
 * Augmentation: if tree->update is set, the tree calls it on a node
 * whenever the node's children changed (insert, remove, rotations),
 * bottom-up, so a value computed from a node and its children's values
 * (a subtree maximum, a count) stays right. When the caller changes the
 * data such a value depends on, it calls avl_propagate() on that node.
 *
 * No locking: the caller serializes all access to a tree.
 */
#ifndef WEFT_AVL_H
#define WEFT_AVL_H
#include <stddef.h>

struct avl_node {
	struct avl_node *parent, *left, *right;
	int height;                 /* of the subtree rooted here; a leaf's is 1 */
};

struct avl_tree {
	struct avl_node *root;
	/* Recompute n's augmented value from n and its children (whose
	 * values are up to date). NULL: no augmentation. */
	void (*update)(struct avl_node *n);
};

/* Link n as a leaf at *link, a NULL child pointer of parent found by the
 * caller's search (&tree->root and parent NULL for an empty tree), then
 * rebalance. n's own fields are initialised here. */
void avl_insert(struct avl_tree *tree, struct avl_node *n, struct avl_node *parent,
		struct avl_node **link);
/* Unlink n (a node of tree) and rebalance. */
void avl_remove(struct avl_tree *tree, struct avl_node *n);
/* Re-run tree->update from n up to the root (n's data changed). */
void avl_propagate(struct avl_tree *tree, struct avl_node *n);

/* In-order neighbours and ends; NULL when there is none. */
struct avl_node *avl_first(const struct avl_tree *tree);
struct avl_node *avl_last(const struct avl_tree *tree);
struct avl_node *avl_next(const struct avl_node *n);
struct avl_node *avl_prev(const struct avl_node *n);

static inline int avl_height(const struct avl_node *n) { return n ? n->height : 0; }
#endif
