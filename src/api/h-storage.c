/* /storage and /nodes/{node}/storage (placeholder). */
#include "api/handlers.h"

const struct api_route api_routes_storage[] = { { 0 } };
