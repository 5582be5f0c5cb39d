/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the window descriptor decoder (scpp_copy_window_decode),
 * which reads bytes that arrive from peers. Whatever it accepts must
 * re-encode to exactly the same bytes (one window, one encoding); nothing
 * may read outside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scpp_copy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scpp_copy_window w;
	uint8_t again[SCPP_COPY_WINDOW_LEN];

	if (scpp_copy_window_decode(data, size, &w) != 0)
		return 0;
	if (scpp_copy_window_encode(&w, again) != 0 || size != sizeof(again) ||
	    memcmp(again, data, size) != 0)
		abort();
	return 0;
}
