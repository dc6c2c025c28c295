/* /nodes/{node}/aplinfo: the container templates Berth can build (placeholder). */
#include "api/handlers.h"

const struct api_route api_routes_aplinfo[] = { { 0 } };

int
aplinfo_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	return error_set(err, ENOSYS, "not yet");
}
