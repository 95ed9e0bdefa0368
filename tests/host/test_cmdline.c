/* test_cmdline.c - host tests for lib/cmdline.c, the kernel command-line
 * tokenizer: splitting, quoting, key/value bounds and cmdline_key_is. */
#include <stdio.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include "tap.h"
#include "../../lib/cmdline.c"

/* One expected token: val == NULL means "no '=' in the token". */
struct want {
	const char *key;
	const char *val;
};

static bool span_is(const char *p, size_t n, const char *want)
{
	return n == strlen(want) && memcmp(p, want, n) == 0;
}

/* line with control characters escaped, so each TAP line stays one line. */
static const char *show(const char *line)
{
	static char buf[256];
	size_t o = 0;

	for (; *line && o + 3 < sizeof(buf); line++) {
		const char *esc = *line == '\t' ? "\\t" : *line == '\n' ? "\\n" :
				  *line == '\r' ? "\\r" : *line == '\v' ? "\\v" :
				  *line == '\f' ? "\\f" : NULL;

		if (esc) {
			buf[o++] = esc[0];
			buf[o++] = esc[1];
		} else {
			buf[o++] = *line;
		}
	}
	buf[o] = '\0';
	return buf;
}

/* Tokenize line completely and compare against the n expected tokens;
 * also checks *pos ends at the terminator and stays there. */
static void check_line(const char *line, const struct want *w, size_t n)
{
	const char *pos = line;
	struct cmdline_token t;
	size_t i = 0;
	bool good = true;

	while (cmdline_next(&pos, &t)) {
		bool match = i < n && span_is(t.key, t.key_len, w[i].key) &&
			t.has_val == (w[i].val != NULL) &&
			(w[i].val ? span_is(t.val, t.val_len, w[i].val) :
				    t.val == NULL && t.val_len == 0);

		if (!match) {
			diag("token %zu: key [%.*s] has_val %d val [%.*s]", i,
			     (int)t.key_len, t.key, t.has_val,
			     (int)t.val_len, t.has_val ? t.val : "");
			good = false;
		}
		i++;
		if (i > n + 5)
			break;
	}
	good = good && i == n && *pos == '\0' && pos == line + strlen(line);
	good = good && !cmdline_next(&pos, &t) && *pos == '\0';
	ok(good, "[%s] -> %zu tokens (got %zu)", show(line), n, i);
}

#define LINE(s, ...) do {						\
	static const struct want w_[] = { __VA_ARGS__ };		\
	check_line(s, w_, sizeof(w_) / sizeof(w_[0]));			\
} while (0)
#define EMPTY_LINE(s) check_line(s, NULL, 0)

static void test_tokens(void)
{
	LINE("test=all loglevel=7 init=/bin/sh \"arg with spaces\" quiet "
	     "name=\"a b\"",
	     { "test", "all" }, { "loglevel", "7" }, { "init", "/bin/sh" },
	     { "arg with spaces", NULL }, { "quiet", NULL },
	     { "name", "a b" });
	EMPTY_LINE("");
	EMPTY_LINE("   ");
	EMPTY_LINE(" \t\n\r\v\f ");
	LINE("quiet", { "quiet", NULL });
	LINE("  quiet  ", { "quiet", NULL });
	LINE("a   b\tc\nd", { "a", NULL }, { "b", NULL }, { "c", NULL },
	     { "d", NULL });
	LINE("key=", { "key", "" });
	LINE("key= next", { "key", "" }, { "next", NULL });
	LINE("=val", { "", "val" });
	LINE("=", { "", "" });
	LINE("a=b=c", { "a", "b=c" });
	LINE("\"\"", { "", NULL });
	LINE("\"\" x", { "", NULL }, { "x", NULL });
	LINE("key=\"\"", { "key", "" });
	LINE("\"a=b\"", { "a=b", NULL });
	LINE("\"a b\"=c", { "a b", "c" });
	LINE("\"a b\"=\"c d\" e", { "a b", "c d" }, { "e", NULL });
	LINE("name=\"a  b\"  ", { "name", "a  b" });
	LINE("x=\"a=b c\"", { "x", "a=b c" });
	LINE("a\"b c\"d", { "a\"b c\"d", NULL });
	LINE("k=v\"w x\"", { "k", "v\"w x\"" });
	LINE("a \"unterminated quote", { "a", NULL },
	     { "unterminated quote", NULL });
	LINE("k=\"open value   ", { "k", "open value   " });
	LINE("k=\"", { "k", "" });
	LINE("\"", { "", NULL });
	LINE("ab\" cd", { "ab\" cd", NULL });
}

static void test_positions(void)
{
	const char *line = "  one two=2  ";
	const char *pos = line;
	struct cmdline_token t;

	ok(cmdline_next(&pos, &t) && pos == line + 5 && t.key == line + 2,
	   "pos advances just past the first token");
	ok(cmdline_next(&pos, &t) && pos == line + 11 && t.val == line + 10,
	   "val points into the original string");
	ok(!cmdline_next(&pos, &t) && pos == line + 13,
	   "end: false, pos at the terminator");
	ok(!cmdline_next(&pos, &t) && pos == line + 13,
	   "end is sticky");
}

static void test_key_is(void)
{
	const char *line = "test=all \"\" quiet";
	const char *pos = line;
	struct cmdline_token t;

	cmdline_next(&pos, &t);
	ok(cmdline_key_is(&t, "test"), "key_is exact");
	ok(!cmdline_key_is(&t, "tes"), "key_is: name is a prefix of key");
	ok(!cmdline_key_is(&t, "testx"), "key_is: key is a prefix of name");
	ok(!cmdline_key_is(&t, ""), "key_is: empty name");
	ok(!cmdline_key_is(&t, "test=all"), "key_is compares the key only");
	cmdline_next(&pos, &t);
	ok(cmdline_key_is(&t, ""), "key_is: empty key matches empty name");
	ok(!cmdline_key_is(&t, "quiet"), "key_is: empty key vs name");
	cmdline_next(&pos, &t);
	ok(cmdline_key_is(&t, "quiet"), "key_is on a key at end of string");
}

int main(void)
{
	test_tokens();
	test_positions();
	test_key_is();
	return done_testing();
}
