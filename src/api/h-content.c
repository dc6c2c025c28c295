/* /nodes/{node}/storage/{storage}/content and upload (placeholder). */
#include "api/handlers.h"

const struct api_route api_routes_content[] = { { 0 } };

int
upload_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	return error_set(err, ENOSYS, "not yet");
}

int
imgdel_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	return error_set(err, ENOSYS, "not yet");
}
