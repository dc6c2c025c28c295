/* Strict, incremental multipart/form-data parser for file uploads: pure (no I/O), fed any
 * chunk sizes, constant memory however large the file part is. */
#pragma once

#include "basic/macros.h"
#include "basic/strbuf.h"

#include <stdint.h>

#define MP_MAX_BOUNDARY 70u          /* RFC 2046 */
#define MP_MAX_HEADER   8192u        /* one part's header section, CRLFs included */
#define MP_MAX_FIELDS   (64u * 1024) /* names and values of the fields before the file */
#define MP_MAX_PREAMBLE 8192u        /* bytes before the first boundary */
#define MP_MAX_PADDING  256u         /* blanks after a boundary, before its CRLF */
#define MP_ERROR_MAX    192u

/* Callbacks return >= 0 to go on or a negative errno to stop the parser (the feed returns
 * that value). The file's bytes arrive in any number of file_data calls. */
struct multipart_ops {
	/* A plain field before the file part, value trimmed of surrounding whitespace (may
	 * contain NUL bytes). */
	int (*field)(void *user, const char *name, const char *value, size_t value_len);
	/* The file part starts; filename is its filename= attribute, trimmed, not empty. */
	int (*file_begin)(void *user, const char *filename);
	int (*file_data)(void *user, const void *data, size_t len);
	/* The file part ended (its closing boundary was seen). */
	int (*file_end)(void *user);
};

/* The parser. Parts before the file part are fields; the first part with a filename=
 * attribute is the file and must be named "filename" (as pve-http-server has it); parts
 * after it are checked for framing and otherwise ignored, as is the epilogue. */
struct multipart {
	const struct multipart_ops *ops;
	void *user;
	char error[MP_ERROR_MAX]; /* why the parser failed (-EBADMSG) */

	/* private */
	unsigned state;
	char delim[4 + MP_MAX_BOUNDARY + 1]; /* "\r\n--" boundary */
	size_t dlen;
	size_t match;      /* bytes of delim matched and held back */
	bool at_start;     /* nothing consumed yet: a CRLF is assumed before the body */
	unsigned tail;     /* state within the line after a boundary */
	size_t skipped;    /* preamble bytes, padding blanks */
	bool seen_file;    /* the file part started */
	size_t fields;     /* bytes of field names and values so far */
	size_t hlen;       /* bytes in hdr[] */
	size_t line_start; /* start of the header line being read */
	const char *cd_name, *cd_filename;
	bool seen_cd;
	struct strbuf name, value;
	char hdr[MP_MAX_HEADER + 1];
};

/* The boundary of a Content-Type value "multipart/form-data; boundary=..." (the type
 * compared case-insensitively, the boundary bare or quoted, 1 to 70 characters of RFC
 * 2046's set). -EINVAL for another type or a missing or invalid boundary. */
int multipart_boundary(const char *content_type, char ret[MP_MAX_BOUNDARY + 1]);

void multipart_init(struct multipart *m, const char *boundary, const struct multipart_ops *ops,
                    void *user);
void multipart_done(struct multipart *m);
/* Consume len bytes. 0 = more wanted (or the close delimiter was seen: the rest is
 * ignored); -EBADMSG = malformed (m->error says why); another negative value is a
 * callback's. After a failure the parser stays failed. */
int multipart_feed(struct multipart *m, const void *data, size_t len);
/* The body has ended: 0 if it was complete (close delimiter seen, file part present),
 * -EBADMSG otherwise. */
int multipart_finish(struct multipart *m);
