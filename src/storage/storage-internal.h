/* Helpers shared by the storage types (dir.c, btrfs.c) and the generic operations (ops.c). */
#pragma once

#include "storage/storage.h"
