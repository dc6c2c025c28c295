/* OpenSSH public keys as authorized_keys lines, checked the way `ssh-keygen -l` would accept
 * them (PVE runs it on every line of a CT's ssh-public-keys). */
#pragma once

#include <stdbool.h>

/* True when every non-blank line is "[options] <type> <base64 blob> [comment]" with a known
 * key type whose blob decodes and names that same type. */
bool ssh_public_keys_valid(const char *text);
