/* cmdline.c - kernel command-line tokenizer; see <weft/cmdline.h> for the
 * token and quoting rules. Self-contained: uses nothing from lib/string.c.
 */
#include <weft/cmdline.h>

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
	       c == '\r';
}

/* Narrow [*s, *s + *len) by a leading quote and then a trailing quote. */
static void strip_quotes(const char **s, size_t *len)
{
	if (*len && **s == '"') {
		(*s)++;
		(*len)--;
		if (*len && (*s)[*len - 1] == '"')
			(*len)--;
	}
}

bool cmdline_next(const char **pos, struct cmdline_token *tok)
{
	const char *p = *pos, *start, *eq = NULL;
	bool in_quote = false;

	while (is_space(*p))
		p++;
	if (!*p) {
		*pos = p;
		return false;
	}

	start = p;
	for (; *p && (in_quote || !is_space(*p)); p++) {
		if (*p == '"')
			in_quote = !in_quote;
		else if (*p == '=' && !in_quote && !eq)
			eq = p;
	}
	*pos = p;

	tok->key = start;
	tok->key_len = (size_t)((eq ? eq : p) - start);
	strip_quotes(&tok->key, &tok->key_len);
	tok->has_val = eq != NULL;
	if (eq) {
		tok->val = eq + 1;
		tok->val_len = (size_t)(p - (eq + 1));
		strip_quotes(&tok->val, &tok->val_len);
	} else {
		tok->val = NULL;
		tok->val_len = 0;
	}
	return true;
}

bool cmdline_key_is(const struct cmdline_token *tok, const char *name)
{
	size_t i;

	for (i = 0; i < tok->key_len; i++) {
		if (name[i] != tok->key[i])
			return false;
	}
	return name[i] == '\0';
}
