/* VM id reservations behind GET /cluster/nextid (see nextid.h). */
#include "api/nextid.h"
#include "basic/strbuf.h"

struct reservation {
	uint32_t vmid;
	time_t until;
};

struct nextid_reservations {
	struct reservation *v;
	size_t n, cap;
};

struct nextid_reservations *
nextid_new(void)
{
	return xcalloc(1, sizeof(struct nextid_reservations));
}

void
nextid_free(struct nextid_reservations *r)
{
	if (r) {
		free(r->v);
		free(r);
	}
}

static void
expire(struct nextid_reservations *r, time_t now)
{
	size_t k = 0;
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].until > now)
			r->v[k++] = r->v[i];
	r->n = k;
}

void
nextid_reserve(struct nextid_reservations *r, uint32_t vmid, time_t now)
{
	expire(r, now);
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].vmid == vmid) {
			r->v[i].until = now + NEXTID_RESERVE_SECONDS;
			return;
		}
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->v = xrealloc(r->v, r->cap * sizeof(*r->v));
	}
	r->v[r->n++] = (struct reservation){ vmid, now + NEXTID_RESERVE_SECONDS };
}

bool
nextid_is_reserved(struct nextid_reservations *r, uint32_t vmid, time_t now)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].vmid == vmid && r->v[i].until > now)
			return true;
	return false;
}

void
nextid_release(struct nextid_reservations *r, uint32_t vmid)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].vmid == vmid) {
			r->v[i] = r->v[--r->n];
			return;
		}
}

uint32_t
nextid_pick(struct nextid_reservations *r, uint32_t lower, uint32_t upper,
            bool (*used)(uint32_t vmid, void *userdata), void *userdata, time_t now)
{
	expire(r, now);
	for (uint64_t id = lower; id <= upper; id++)
		if (!used((uint32_t)id, userdata) && !nextid_is_reserved(r, (uint32_t)id, now))
			return (uint32_t)id;
	return 0;
}
