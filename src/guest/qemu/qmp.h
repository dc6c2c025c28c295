/* A blocking QMP client for task workers: one connection to a VM's QMP socket, commands
 * with timeouts, asynchronous events skipped. QMP is JSON objects, one per line (QEMU's
 * docs/interop/qmp-spec): a greeting, then {"execute":...,"id":...} answered by
 * {"return":...,"id":...} or {"error":{"class":...,"desc":...},"id":...}, with
 * {"event":...} lines in between at any time. */
#pragma once

#include "basic/error.h"

#include <jansson.h>

struct qmp;

/* Largest line we accept from QEMU: query-* answers for big VMs stay far below it. */
#define QMP_LINE_MAX (4u << 20)

/* Connect to the unix socket at path, read the greeting and leave capabilities negotiation
 * mode (qmp_capabilities). timeout_ms bounds the whole handshake. */
int qmp_connect(const char *path, int timeout_ms, struct qmp **ret, struct error *err);

/* The same over a connected stream socket (the caller's fd is taken). */
int qmp_open_fd(int fd, int timeout_ms, struct qmp **ret, struct error *err);

/* Run command with args (may be NULL; borrowed) and wait up to timeout_ms for its answer.
 * *ret (may be NULL) gets the "return" value. A QMP error becomes -EIO with "<desc>" in err
 * (the caller adds PVE's "VM <id> qmp command '<cmd>' failed - " prefix); a timeout is
 * -ETIMEDOUT, a closed socket -EPIPE, garbage -EBADMSG. After a timeout the connection is
 * unusable (a late answer would be taken for the next command's): close it. */
int qmp_command(struct qmp *q, const char *command, json_t *args, int timeout_ms, json_t **ret,
                struct error *err);

/* Events seen so far (an array of the event objects; borrowed), e.g. SHUTDOWN or
 * BLOCK_JOB_COMPLETED while waiting for a command. */
json_t *qmp_events(struct qmp *q);

void qmp_close(struct qmp *q);
