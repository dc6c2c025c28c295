/* Printing API results: JSON as is, or readable text tables in the style of pvesh. */
#include "cli/cli.h"

#include <stdio.h>

static char *
cell_text(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return xstrdup(json_string_value(v));
	case JSON_INTEGER:
		return xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL:
		return xasprintf("%g", json_real_value(v));
	case JSON_TRUE:
		return xstrdup("1");
	case JSON_FALSE:
		return xstrdup("0");
	case JSON_NULL:
		return xstrdup("");
	default: {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		return s ? s : xstrdup("");
	}
	}
}

/* display width: code points (control characters shown as-is are rare in API data) */
static size_t
width(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static void
line(FILE *out, const size_t *w, size_t n, const char *l, const char *m, const char *r,
     const char *fill)
{
	fputs(l, out);
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < w[i] + 2; k++)
			fputs(fill, out);
		fputs(i + 1 < n ? m : r, out);
	}
	fputc('\n', out);
}

static void
row(FILE *out, const size_t *w, size_t n, char **cells)
{
	fputs("│", out);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, " %s", cells[i]);
		for (size_t k = width(cells[i]); k < w[i] + 1; k++)
			fputc(' ', out);
		fputs("│", out);
	}
	fputc('\n', out);
}

static void
table(FILE *out, char **head, char ***rows, size_t n_rows, size_t n_cols)
{
	size_t *w = xcalloc(n_cols, sizeof(size_t));
	for (size_t c = 0; c < n_cols; c++) {
		w[c] = width(head[c]);
		for (size_t r = 0; r < n_rows; r++)
			w[c] = MAX(w[c], width(rows[r][c]));
	}
	line(out, w, n_cols, "┌", "┬", "┐", "─");
	row(out, w, n_cols, head);
	line(out, w, n_cols, "╞", "╪", "╡", "═");
	for (size_t r = 0; r < n_rows; r++)
		row(out, w, n_cols, rows[r]);
	line(out, w, n_cols, "└", "┴", "┘", "─");
	free(w);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
print_object(FILE *out, json_t *obj)
{
	size_t n = json_object_size(obj), i = 0;
	char **keys = xcalloc(n + 1, sizeof(char *));
	const char *k;
	json_t *v;
	json_object_foreach (obj, k, v)
		keys[i++] = (char *)k;
	qsort(keys, n, sizeof(char *), cmp_str);
	char ***rows = xcalloc(n + 1, sizeof(char **));
	for (i = 0; i < n; i++) {
		rows[i] = xcalloc(2, sizeof(char *));
		rows[i][0] = xstrdup(keys[i]);
		rows[i][1] = cell_text(json_object_get(obj, keys[i]));
	}
	char *head[] = { (char *)"key", (char *)"value" };
	table(out, head, rows, n, 2);
	for (i = 0; i < n; i++) {
		free(rows[i][0]);
		free(rows[i][1]);
		free(rows[i]);
	}
	free(rows);
	free(keys);
}

static bool
has_col(char **cols, size_t n, const char *k)
{
	for (size_t i = 0; i < n; i++)
		if (streq(cols[i], k))
			return true;
	return false;
}

static void
print_list(FILE *out, json_t *arr, const char *const *columns)
{
	size_t n_rows = json_array_size(arr);
	bool objects = n_rows > 0;
	size_t i;
	json_t *el;
	json_array_foreach (arr, i, el)
		objects &= json_is_object(el);
	if (!objects) {
		json_array_foreach (arr, i, el) {
			_cleanup_free_ char *t = cell_text(el);
			fprintf(out, "%s\n", t);
		}
		return;
	}
	/* columns: the route's declared order first, then any other keys sorted */
	size_t n_cols = 0, cap = 16;
	char **cols = xcalloc(cap, sizeof(char *));
	for (const char *const *c = columns; c && *c; c++) {
		bool present = false;
		json_array_foreach (arr, i, el)
			present |= json_object_get(el, *c) != NULL;
		if (present)
			cols[n_cols++] = (char *)*c;
		if (n_cols == cap)
			cols = xrealloc(cols, (cap *= 2) * sizeof(char *));
	}
	size_t declared = n_cols;
	json_array_foreach (arr, i, el) {
		const char *k;
		json_t *v;
		json_object_foreach (el, k, v) {
			if (has_col(cols, n_cols, k))
				continue;
			cols[n_cols++] = (char *)k;
			if (n_cols == cap)
				cols = xrealloc(cols, (cap *= 2) * sizeof(char *));
		}
	}
	qsort(cols + declared, n_cols - declared, sizeof(char *), cmp_str);
	char ***rows = xcalloc(n_rows, sizeof(char **));
	json_array_foreach (arr, i, el) {
		rows[i] = xcalloc(n_cols, sizeof(char *));
		for (size_t c = 0; c < n_cols; c++) {
			json_t *v = json_object_get(el, cols[c]);
			rows[i][c] = v ? cell_text(v) : xstrdup("");
		}
	}
	table(out, cols, rows, n_rows, n_cols);
	for (i = 0; i < n_rows; i++) {
		for (size_t c = 0; c < n_cols; c++)
			free(rows[i][c]);
		free(rows[i]);
	}
	free(rows);
	free(cols);
}

void
cli_print(const struct cli *c, json_t *data, const char *const *columns)
{
	FILE *out = stdout;
	if (c->format != OUTPUT_TEXT) {
		size_t flags = JSON_ENCODE_ANY |
		               (c->format == OUTPUT_JSON_PRETTY ? JSON_INDENT(2) : JSON_COMPACT);
		char *s = json_dumps(data ? data : json_null(), flags);
		fprintf(out, "%s\n", s ? s : "null");
		free(s);
		return;
	}
	if (!data || json_is_null(data))
		return;
	if (json_is_array(data))
		print_list(out, data, columns);
	else if (json_is_object(data))
		print_object(out, data);
	else {
		_cleanup_free_ char *t = cell_text(data);
		fprintf(out, "%s\n", t);
	}
}
