/* Content type names and lists ("iso,vztmpl,backup"), as storage.cfg and the API spell them. */
#include "storage/storage.h"
#include "basic/strbuf.h"

/* In PVE's sort order for listings (alphabetical). */
static const struct {
	const char *name;
	unsigned bit;
} content_names[] = {
	{ "backup", CONTENT_BACKUP },     { "images", CONTENT_IMAGES },
	{ "import", CONTENT_IMPORT },     { "iso", CONTENT_ISO },
	{ "none", CONTENT_NONE },         { "rootdir", CONTENT_ROOTDIR },
	{ "snippets", CONTENT_SNIPPETS }, { "vztmpl", CONTENT_VZTMPL },
};

unsigned
storage_content_parse_one(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(content_names); i++)
		if (streq(name, content_names[i].name))
			return content_names[i].bit;
	return 0;
}

const char *
storage_content_name(unsigned one)
{
	for (size_t i = 0; i < ARRAY_SIZE(content_names); i++)
		if (content_names[i].bit == one)
			return content_names[i].name;
	return "";
}

int
storage_content_parse(const char *list, unsigned *ret, struct error *err)
{
	unsigned mask = 0;
	_cleanup_free_ char *copy = xstrdup(list);
	char *save = NULL;
	for (char *w = strtok_r(copy, ",; ", &save); w; w = strtok_r(NULL, ",; ", &save)) {
		unsigned bit = storage_content_parse_one(w);
		if (!bit)
			return error_set(err, EINVAL, "invalid content type '%s'", w);
		mask |= bit;
	}
	if (!mask)
		return error_set(err, EINVAL, "empty content type list");
	if ((mask & CONTENT_NONE) && mask != CONTENT_NONE)
		return error_set(err, EINVAL, "unable to combine 'none' with other content types");
	*ret = mask;
	return 0;
}

char *
storage_content_format(unsigned mask)
{
	struct strbuf b = STRBUF_INIT;
	for (size_t i = 0; i < ARRAY_SIZE(content_names); i++) {
		if (!(mask & content_names[i].bit))
			continue;
		if (b.len)
			sb_putc(&b, ',');
		sb_puts(&b, content_names[i].name);
	}
	return sb_steal(&b);
}
