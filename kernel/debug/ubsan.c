/* ubsan.c - the handlers GCC's -fsanitize=undefined calls (debug kernel).
 *
 * The compiler passes, for each check, a static record that starts with
 * the source location (file, line, column) and, depending on the check,
 * type descriptors: a 16-bit kind (0: integer, 1: float, 0xffff: other),
 * 16 bits of info (integers: bit 0 = signed, bits 1.. = log2 of the width
 * in bits) and the type's name. Operand values come as pointer-sized
 * arguments: the value itself when it fits in 64 bits, else its address.
 *
 * Every handler reports through debug_report_* (kernel/debug/report.c):
 * the kind, file:line:column, the operands, a backtrace, then a panic (or a
 * caught report in the detector tests, after which the checked code goes
 * on with the value the machine computed). This file itself is compiled
 * without -fsanitize (the Makefile), so no handler can re-enter itself.
 */
#include <weft/debug.h>
#include <weft/format.h>
#include <weft/panic.h>
#include <weft/printk.h>

struct ubsan_loc {
	const char *file;
	uint32_t line;
	uint32_t column;
};

struct ubsan_type {
	uint16_t kind;		/* UBSAN_TYPE_* */
	uint16_t info;		/* integers: signed bit, log2(width) << 1 */
	char name[];
};

#define UBSAN_TYPE_INT 0

struct ubsan_overflow {		/* + - * / % and unary - */
	struct ubsan_loc loc;
	const struct ubsan_type *type;
};

struct ubsan_shift {
	struct ubsan_loc loc;
	const struct ubsan_type *lhs_type, *rhs_type;
};

struct ubsan_oob {		/* array index out of bounds */
	struct ubsan_loc loc;
	const struct ubsan_type *array_type, *index_type;
};

struct ubsan_mismatch {		/* null, misaligned or too small object */
	struct ubsan_loc loc;
	const struct ubsan_type *type;
	unsigned char log_align;
	unsigned char check_kind;	/* index into check_kinds[] */
};

struct ubsan_ptr_overflow {
	struct ubsan_loc loc;
};

struct ubsan_unreachable {
	struct ubsan_loc loc;
};

struct ubsan_vla {
	struct ubsan_loc loc;
	const struct ubsan_type *type;
};

struct ubsan_invalid_value {	/* a bool or enum load of a value it cannot hold */
	struct ubsan_loc loc;
	const struct ubsan_type *type;
};

struct ubsan_nonnull_arg {
	struct ubsan_loc loc;
	struct ubsan_loc attr_loc;
	int arg_index;
};

struct ubsan_nonnull_return {
	struct ubsan_loc attr_loc;
};

struct ubsan_invalid_builtin {
	struct ubsan_loc loc;
	unsigned char kind;		/* 0: ctz of 0, 1: clz of 0 */
};

static const char *const check_kinds[] = {
	"load of", "store to", "reference binding to", "member access within",
	"member call on", "constructor call on", "downcast of", "downcast of",
	"upcast of", "cast to virtual base of", "_Nonnull binding to",
	"dynamic operation on",
};

static unsigned type_bits(const struct ubsan_type *t)
{
	return 1u << (t->info >> 1);
}

static bool type_signed(const struct ubsan_type *t)
{
	return t->kind == UBSAN_TYPE_INT && (t->info & 1);
}

/* An operand as text: integers up to 64 bits are passed by value (the low
 * `bits` bits of v); wider ones by address. */
static void format_value(char *buf, size_t size, const struct ubsan_type *t, const void *v)
{
	if (t->kind != UBSAN_TYPE_INT) {
		snprintf(buf, size, "(a %s)", t->name);
		return;
	}
	unsigned bits = type_bits(t);
	uint64_t raw;
	if (bits > 64) {
		raw = *(const uint64_t *)v;	/* x86-64: the low half comes first */
		snprintf(buf, size, "%s%#lx (low 64 bits of %u)", "", (unsigned long)raw, bits);
		return;
	}
	raw = (uint64_t)(uintptr_t)v;
	if (bits < 64)
		raw &= (1ull << bits) - 1;
	if (type_signed(t)) {
		int64_t s = bits < 64 && (raw >> (bits - 1)) & 1 ? (int64_t)(raw | ~((1ull << bits) - 1))
								  : (int64_t)raw;
		snprintf(buf, size, "%ld", (long)s);
	} else {
		snprintf(buf, size, "%lu", (unsigned long)raw);
	}
}

static bool value_negative(const struct ubsan_type *t, const void *v)
{
	if (!type_signed(t) || type_bits(t) > 64)
		return false;
	unsigned bits = type_bits(t);
	return ((uint64_t)(uintptr_t)v >> (bits - 1)) & 1;
}

static uint64_t value_unsigned(const struct ubsan_type *t, const void *v)
{
	uint64_t raw = type_bits(t) > 64 ? *(const uint64_t *)v : (uint64_t)(uintptr_t)v;
	if (type_bits(t) < 64)
		raw &= (1ull << type_bits(t)) - 1;
	return raw;
}

/* Report `what` at `loc`: a header line, then the detail line `detail`
 * (may be empty), a backtrace, and the panic or the catch. */
__attribute__((noinline)) static void ubsan_report(const struct ubsan_loc *loc, const char *what,
						   const char *detail)
{
	char summary[200];
	snprintf(summary, sizeof summary, "%s at %s:%u:%u", what, loc->file, loc->line,
		 loc->column);
	unsigned long f = debug_report_begin("UBSAN", "%s", summary);
	if (detail[0])
		pr_emerg("  %s\n", detail);
	debug_report_end(f, "UBSAN", summary);
}

static void overflow(const struct ubsan_overflow *d, const void *lhs, const void *rhs, char op)
{
	char a[48], b[48], what[120], detail[160];
	format_value(a, sizeof a, d->type, lhs);
	format_value(b, sizeof b, d->type, rhs);
	snprintf(what, sizeof what, "%s integer overflow",
		 type_signed(d->type) ? "signed" : "unsigned");
	snprintf(detail, sizeof detail, "%s %c %s cannot be represented in type %s", a, op, b,
		 d->type->name);
	ubsan_report(&d->loc, what, detail);
}

void __ubsan_handle_add_overflow(const struct ubsan_overflow *d, void *lhs, void *rhs)
{
	overflow(d, lhs, rhs, '+');
}

void __ubsan_handle_sub_overflow(const struct ubsan_overflow *d, void *lhs, void *rhs)
{
	overflow(d, lhs, rhs, '-');
}

void __ubsan_handle_mul_overflow(const struct ubsan_overflow *d, void *lhs, void *rhs)
{
	overflow(d, lhs, rhs, '*');
}

void __ubsan_handle_negate_overflow(const struct ubsan_overflow *d, void *old)
{
	char a[48], detail[160];
	format_value(a, sizeof a, d->type, old);
	snprintf(detail, sizeof detail, "negation of %s cannot be represented in type %s", a,
		 d->type->name);
	ubsan_report(&d->loc, "negation overflow", detail);
}

void __ubsan_handle_divrem_overflow(const struct ubsan_overflow *d, void *lhs, void *rhs)
{
	char a[48], b[48], detail[160];
	format_value(a, sizeof a, d->type, lhs);
	format_value(b, sizeof b, d->type, rhs);
	bool by_zero = d->type->kind == UBSAN_TYPE_INT && value_unsigned(d->type, rhs) == 0;
	snprintf(detail, sizeof detail, "%s / %s in type %s", a, b, d->type->name);
	ubsan_report(&d->loc, by_zero ? "division by zero" : "division overflow", detail);
}

void __ubsan_handle_shift_out_of_bounds(const struct ubsan_shift *d, void *lhs, void *rhs)
{
	char a[48], b[48], what[160];
	format_value(a, sizeof a, d->lhs_type, lhs);
	format_value(b, sizeof b, d->rhs_type, rhs);
	if (value_negative(d->rhs_type, rhs))
		snprintf(what, sizeof what, "shift exponent %s is negative", b);
	else if (value_unsigned(d->rhs_type, rhs) >= type_bits(d->lhs_type))
		snprintf(what, sizeof what, "shift exponent %s is too large for %u-bit type %s", b,
			 type_bits(d->lhs_type), d->lhs_type->name);
	else if (value_negative(d->lhs_type, lhs))
		snprintf(what, sizeof what, "left shift of negative value %s", a);
	else
		snprintf(what, sizeof what, "left shift of %s by %s places cannot be represented in type %s",
			 a, b, d->lhs_type->name);
	ubsan_report(&d->loc, what, "");
}

void __ubsan_handle_out_of_bounds(const struct ubsan_oob *d, void *index)
{
	char i[48], what[160];
	format_value(i, sizeof i, d->index_type, index);
	snprintf(what, sizeof what, "index %s out of bounds for type %s", i, d->array_type->name);
	ubsan_report(&d->loc, what, "");
}

void __ubsan_handle_type_mismatch_v1(const struct ubsan_mismatch *d, void *ptr)
{
	uintptr_t p = (uintptr_t)ptr, align = d->log_align < 64 ? 1ul << d->log_align : 0;
	const char *kind = d->check_kind < sizeof check_kinds / sizeof check_kinds[0]
				   ? check_kinds[d->check_kind]
				   : "access to";
	char what[200];
	if (!p)
		snprintf(what, sizeof what, "%s null pointer of type %s", kind, d->type->name);
	else if (align && (p & (align - 1)))
		snprintf(what, sizeof what, "%s misaligned address %#lx for type %s (needs %lu-byte alignment)",
			 kind, (unsigned long)p, d->type->name, (unsigned long)align);
	else
		snprintf(what, sizeof what, "%s address %#lx with too little space for an object of type %s",
			 kind, (unsigned long)p, d->type->name);
	ubsan_report(&d->loc, what, "");
}

void __ubsan_handle_pointer_overflow(const struct ubsan_ptr_overflow *d, void *base, void *result)
{
	char what[160];
	if (!base && !result)
		snprintf(what, sizeof what, "applying zero offset to null pointer");
	else if (!base)
		snprintf(what, sizeof what, "applying non-zero offset %#lx to null pointer",
			 (unsigned long)result);
	else if (!result)
		snprintf(what, sizeof what, "applying non-zero offset to %#lx produced null pointer",
			 (unsigned long)base);
	else
		snprintf(what, sizeof what, "pointer arithmetic on %#lx overflowed to %#lx",
			 (unsigned long)base, (unsigned long)result);
	ubsan_report(&d->loc, what, "");
}

void __ubsan_handle_builtin_unreachable(const struct ubsan_unreachable *d)
{
	ubsan_report(&d->loc, "execution reached __builtin_unreachable()", "");
	panic("UBSAN: cannot go on past __builtin_unreachable() at %s:%u", d->loc.file, d->loc.line);
}

void __ubsan_handle_missing_return(const struct ubsan_unreachable *d)
{
	ubsan_report(&d->loc, "execution reached the end of a value-returning function", "");
	panic("UBSAN: no value to return at %s:%u", d->loc.file, d->loc.line);
}

void __ubsan_handle_vla_bound_not_positive(const struct ubsan_vla *d, void *bound)
{
	char b[48], what[120];
	format_value(b, sizeof b, d->type, bound);
	snprintf(what, sizeof what, "variable length array bound %s is not positive", b);
	ubsan_report(&d->loc, what, "");
}

void __ubsan_handle_load_invalid_value(const struct ubsan_invalid_value *d, void *val)
{
	char v[48], what[160];
	format_value(v, sizeof v, d->type, val);
	snprintf(what, sizeof what, "load of value %s, which is not valid for type %s", v,
		 d->type->name);
	ubsan_report(&d->loc, what, "");
}

void __ubsan_handle_nonnull_arg(const struct ubsan_nonnull_arg *d)
{
	char what[160];
	snprintf(what, sizeof what, "null pointer passed as argument %d, declared never null at %s:%u",
		 d->arg_index, d->attr_loc.file ? d->attr_loc.file : "?", d->attr_loc.line);
	ubsan_report(&d->loc, what, "");
}

void __ubsan_handle_nonnull_return_v1(const struct ubsan_nonnull_return *d,
				      const struct ubsan_loc *loc)
{
	char what[160];
	snprintf(what, sizeof what, "null pointer returned from a function declared never to return null (%s:%u)",
		 d->attr_loc.file ? d->attr_loc.file : "?", d->attr_loc.line);
	ubsan_report(loc, what, "");
}

void __ubsan_handle_invalid_builtin(const struct ubsan_invalid_builtin *d)
{
	ubsan_report(&d->loc, d->kind == 0 ? "passing zero to __builtin_ctz(), which is not a valid argument"
					   : "passing zero to __builtin_clz(), which is not a valid argument",
		     "");
}
