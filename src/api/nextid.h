/* VM id reservations behind GET /cluster/nextid: an id handed out is skipped by later nextid
 * calls for a while (60 s), so concurrent callers (Terraform, Ansible, Packer running in
 * parallel) never receive the same id. Creating a guest with a reserved id is always allowed:
 * the reservation only steers nextid. Kept in memory: a daemon restart forgets reservations,
 * which is harmless (they are advisory). */
#pragma once

#include "basic/macros.h"

#include <stdint.h>
#include <time.h>

#define NEXTID_RESERVE_SECONDS 60

struct nextid_reservations;

struct nextid_reservations *nextid_new(void);
void nextid_free(struct nextid_reservations *r);

void nextid_reserve(struct nextid_reservations *r, uint32_t vmid, time_t now);
bool nextid_is_reserved(struct nextid_reservations *r, uint32_t vmid, time_t now);
void nextid_release(struct nextid_reservations *r, uint32_t vmid);

/* Lowest id in [lower, upper] that is neither used (used(vmid, userdata) true) nor
 * reserved; 0 when the range is exhausted. */
uint32_t nextid_pick(struct nextid_reservations *r, uint32_t lower, uint32_t upper,
                     bool (*used)(uint32_t vmid, void *userdata), void *userdata, time_t now);
