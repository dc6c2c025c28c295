/* What the store's own files share beyond the public contract. */
#pragma once

#include "store.h"

/* The directory descriptor the per-path lock files live under. */
int store_lock_dirfd(const struct store *s);
