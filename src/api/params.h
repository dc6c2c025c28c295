/* Parameter schemas used by many routes (PVE's standard options), as initializers. */
#pragma once

#include "schema/schema.h"

#define PARAM_END                                                                                  \
	{                                                                                          \
		.name = NULL                                                                       \
	}

#define PARAM_NODE                                                                                 \
	{                                                                                          \
		.name = "node", .type = API_T_STRING, .format = "pve-node",                        \
		.description = "The cluster node name."                                            \
	}

#define PARAM_VMID                                                                                 \
	{                                                                                          \
		.name = "vmid", .type = API_T_INTEGER, .format = "pve-vmid", .minimum = 100,       \
		.maximum = 999999999, .flags = API_F_HAS_MIN | API_F_HAS_MAX,                      \
		.description = "The (unique) ID of the VM."                                        \
	}

#define PARAM_VMID_OPT(desc)                                                                       \
	{                                                                                          \
		.name = "vmid", .type = API_T_INTEGER, .format = "pve-vmid", .minimum = 100,       \
		.maximum = 999999999, .flags = API_F_HAS_MIN | API_F_HAS_MAX, .optional = true,    \
		.description = desc                                                                \
	}

#define PARAM_USERID                                                                               \
	{                                                                                          \
		.name = "userid", .type = API_T_STRING, .format = "pve-userid", .max_length = 64,  \
		.description = "Full User ID, in the `name@realm` format."                         \
	}

#define PARAM_TOKENID                                                                              \
	{                                                                                          \
		.name = "tokenid", .type = API_T_STRING, .pattern = "[A-Za-z][A-Za-z0-9._-]+",     \
		.description = "User-specific token identifier."                                   \
	}

#define PARAM_REALM_OPT                                                                            \
	{                                                                                          \
		.name = "realm", .type = API_T_STRING, .format = "pve-realm", .max_length = 32,    \
		.optional = true, .description = "Authentication domain ID"                        \
	}

#define PARAM_COMMENT_OPT                                                                          \
	{                                                                                          \
		.name = "comment", .type = API_T_STRING, .optional = true, .max_length = 2048      \
	}

#define PARAM_EXPIRE_OPT                                                                           \
	{                                                                                          \
		.name = "expire", .type = API_T_INTEGER, .optional = true, .minimum = 0,           \
		.flags = API_F_HAS_MIN, .default_text = "0 (never)",                               \
		.description =                                                                     \
		        "Account expiration date (seconds since epoch). '0' means no expiration "  \
		        "date."                                                                    \
	}

/* Returned-data helpers for docs and CLI tables */
#define RET_NULL (&(const struct api_schema){ .type = API_T_NULL })

#define PARAM_DIGEST                                                                               \
	{                                                                                          \
		.name = "digest", .type = API_T_STRING, .max_length = 40, .optional = true,        \
		.description = "Prevent changes if current configuration file has different "      \
		               "SHA1 digest. This can be used to prevent concurrent "              \
		               "modifications."                                                    \
	}

#define PARAM_STORAGE                                                                              \
	{                                                                                          \
		.name = "storage", .type = API_T_STRING, .format = "pve-storage-id",               \
		.description = "The storage identifier."                                           \
	}
