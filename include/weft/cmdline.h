/* cmdline.h - tokenizer for the kernel command line (lib/cmdline.c).
 *
 * A command line such as
 *     test=all loglevel=7 init=/bin/sh "arg with spaces" quiet name="a b"
 * is a sequence of tokens separated by whitespace (space, \t, \n, \v, \f,
 * \r). Inside double quotes whitespace does not separate, and a quote left
 * open runs to the end of the string. A token's key is everything before
 * its first '=' outside quotes, and its value everything after; a token
 * without such '=' has only a key. Nothing is copied or modified: key and
 * val point into the original string.
 *
 * Quote stripping works on the bounds of key and value separately: if a
 * key (or value) begins with '"' that quote is dropped, and then if it
 * ends with '"' that one is dropped too. So name="a b" gives val `a b`,
 * "arg with spaces" gives key `arg with spaces`, and "a=b" gives key `a=b`
 * and no value. Quotes in the middle of a key or value are kept verbatim.
 *
 * In host unit tests (WEFT_HOST_TEST) the functions are renamed weft_NAME.
 */
#ifndef WEFT_CMDLINE_H
#define WEFT_CMDLINE_H
#include <stddef.h>
#include <stdbool.h>

#ifdef WEFT_HOST_TEST
#define cmdline_next   weft_cmdline_next
#define cmdline_key_is weft_cmdline_key_is
#endif

struct cmdline_token {
	const char *key;	/* key bytes (not NUL-terminated) */
	size_t key_len;		/* may be 0, e.g. for "" or "=x" */
	const char *val;	/* value bytes; NULL when !has_val */
	size_t val_len;		/* 0 when !has_val, or for "key=" */
	bool has_val;		/* the token had an '=' outside quotes */
};

/* Parse the next token starting at *pos in a NUL-terminated string.
 * Returns true, fills *tok and advances *pos just past the token; returns
 * false (with *pos at the terminating NUL) when only whitespace remains.
 * A token may have an empty key: `""` and `=v` are tokens. */
bool cmdline_next(const char **pos, struct cmdline_token *tok);

/* True if the token's key is exactly the NUL-terminated string name. */
bool cmdline_key_is(const struct cmdline_token *tok, const char *name);
#endif
