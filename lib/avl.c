/* avl.c - intrusive AVL trees; see <weft/avl.h>.
 *
 * Invariants, outside a call: every node's height is 1 + the larger of
 * its children's (0 for none); the children's heights differ by at most
 * 1; child->parent points back; tree->update has been run on every node
 * after its children. Rebalancing walks from the lowest changed node to
 * the root, refreshing each node (height, then update) and rotating where
 * a node is out of balance; the walk always reaches the root, so the
 * augmented values on the whole path are refreshed.
 */
#include <weft/avl.h>

static void refresh(struct avl_tree *tree, struct avl_node *n)
{
	int l = avl_height(n->left), r = avl_height(n->right);
	n->height = 1 + (l > r ? l : r);
	if (tree->update)
		tree->update(n);
}

/* Make `to` take `from`'s place under parent (NULL: the root). */
static void replace_child(struct avl_tree *tree, struct avl_node *parent, struct avl_node *from,
			  struct avl_node *to)
{
	if (!parent)
		tree->root = to;
	else if (parent->left == from)
		parent->left = to;
	else
		parent->right = to;
}

/* Rotate x's right child y up into x's place; returns y. Refreshes x,
 * then y (x is y's child now). */
static struct avl_node *rotate_left(struct avl_tree *tree, struct avl_node *x)
{
	struct avl_node *y = x->right;
	x->right = y->left;
	if (y->left)
		y->left->parent = x;
	y->parent = x->parent;
	replace_child(tree, x->parent, x, y);
	y->left = x;
	x->parent = y;
	refresh(tree, x);
	refresh(tree, y);
	return y;
}

/* The mirror image: x's left child y goes up. */
static struct avl_node *rotate_right(struct avl_tree *tree, struct avl_node *x)
{
	struct avl_node *y = x->left;
	x->left = y->right;
	if (y->right)
		y->right->parent = x;
	y->parent = x->parent;
	replace_child(tree, x->parent, x, y);
	y->right = x;
	x->parent = y;
	refresh(tree, x);
	refresh(tree, y);
	return y;
}

/* Refresh and rebalance every node from n up to the root. n's subtrees
 * are balanced and refreshed; n's own height may be stale. */
static void rebalance_up(struct avl_tree *tree, struct avl_node *n)
{
	while (n) {
		refresh(tree, n);
		int balance = avl_height(n->left) - avl_height(n->right);
		if (balance > 1) {
			/* Left-heavy. A left child leaning right is first
			 * turned to lean left, so one right rotation fixes n. */
			if (avl_height(n->left->left) < avl_height(n->left->right))
				rotate_left(tree, n->left);
			n = rotate_right(tree, n);
		} else if (balance < -1) {
			if (avl_height(n->right->right) < avl_height(n->right->left))
				rotate_right(tree, n->right);
			n = rotate_left(tree, n);
		}
		n = n->parent;
	}
}

void avl_insert(struct avl_tree *tree, struct avl_node *n, struct avl_node *parent,
		struct avl_node **link)
{
	n->parent = parent;
	n->left = n->right = NULL;
	n->height = 1;
	*link = n;
	rebalance_up(tree, n);
}

void avl_remove(struct avl_tree *tree, struct avl_node *n)
{
	struct avl_node *from;   /* the lowest node whose subtree changed */
	if (n->left && n->right) {
		/* Two children: n's successor s (leftmost of the right
		 * subtree, so it has no left child) takes n's place. */
		struct avl_node *s = n->right;
		while (s->left)
			s = s->left;
		if (s->parent == n) {
			from = s;              /* s keeps its right subtree */
		} else {
			from = s->parent;
			from->left = s->right; /* s's right child takes s's place */
			if (s->right)
				s->right->parent = from;
			s->right = n->right;
			n->right->parent = s;
		}
		s->left = n->left;
		n->left->parent = s;
		s->parent = n->parent;
		replace_child(tree, n->parent, n, s);   /* s's height: rebalance_up refreshes it */
	} else {
		struct avl_node *child = n->left ? n->left : n->right;
		from = n->parent;
		if (child)
			child->parent = n->parent;
		replace_child(tree, n->parent, n, child);
	}
	n->parent = n->left = n->right = NULL;
	rebalance_up(tree, from);
}

void avl_propagate(struct avl_tree *tree, struct avl_node *n)
{
	if (!tree->update)
		return;
	for (; n; n = n->parent)
		tree->update(n);
}

struct avl_node *avl_first(const struct avl_tree *tree)
{
	struct avl_node *n = tree->root;
	while (n && n->left)
		n = n->left;
	return n;
}

struct avl_node *avl_last(const struct avl_tree *tree)
{
	struct avl_node *n = tree->root;
	while (n && n->right)
		n = n->right;
	return n;
}

struct avl_node *avl_next(const struct avl_node *n)
{
	if (n->right) {
		n = n->right;
		while (n->left)
			n = n->left;
		return (struct avl_node *)n;
	}
	while (n->parent && n->parent->right == n)
		n = n->parent;
	return n->parent;
}

struct avl_node *avl_prev(const struct avl_node *n)
{
	if (n->left) {
		n = n->left;
		while (n->right)
			n = n->right;
		return (struct avl_node *)n;
	}
	while (n->parent && n->parent->left == n)
		n = n->parent;
	return n->parent;
}
