/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "scpp_common.h"

static const struct {
	const char *name;
	const char *text;
} project_errors[SCPP_E_LAST - SCPP_E_FIRST] = {
	[SCPP_E_TRUNCATED - SCPP_E_FIRST] = {"E_TRUNCATED", "input ends inside a field"},
	[SCPP_E_BAD_MAGIC - SCPP_E_FIRST] = {"E_BAD_MAGIC", "bad datagram magic"},
	[SCPP_E_BAD_VERSION - SCPP_E_FIRST] = {"E_BAD_VERSION", "unsupported protocol version"},
	[SCPP_E_BAD_KIND - SCPP_E_FIRST] = {"E_BAD_KIND", "unknown datagram kind"},
	[SCPP_E_BAD_FLAGS - SCPP_E_FIRST] = {"E_BAD_FLAGS", "reserved or inconsistent flags"},
	[SCPP_E_BAD_LENGTH - SCPP_E_FIRST] = {"E_BAD_LENGTH", "length field disagrees with data"},
	[SCPP_E_BAD_FRAGMENT - SCPP_E_FIRST] = {"E_BAD_FRAGMENT", "fragment index or count out of range"},
	[SCPP_E_BAD_OPCODE - SCPP_E_FIRST] = {"E_BAD_OPCODE", "unknown command opcode"},
	[SCPP_E_BAD_TERM - SCPP_E_FIRST] = {"E_BAD_TERM", "bad term"},
	[SCPP_E_BAD_VALUE_TYPE - SCPP_E_FIRST] = {"E_BAD_VALUE_TYPE", "unknown value type"},
	[SCPP_E_BAD_UTF8 - SCPP_E_FIRST] = {"E_BAD_UTF8", "string is not valid UTF-8"},
	[SCPP_E_BAD_VARINT - SCPP_E_FIRST] = {"E_BAD_VARINT", "malformed varint"},
	[SCPP_E_BAD_VAR - SCPP_E_FIRST] = {"E_BAD_VAR", "undeclared variable"},
	[SCPP_E_TOO_MANY - SCPP_E_FIRST] = {"E_TOO_MANY", "count exceeds protocol maximum"},
	[SCPP_E_TRAILING - SCPP_E_FIRST] = {"E_TRAILING", "trailing bytes after message"},
	[SCPP_E_BAD_RECORD - SCPP_E_FIRST] = {"E_BAD_RECORD", "unknown reply record"},
	[SCPP_E_NESTING - SCPP_E_FIRST] = {"E_NESTING", "address terms nested too deeply"},
	[SCPP_E_SYNTAX - SCPP_E_FIRST] = {"E_SYNTAX", "syntax error"},
	[SCPP_E_LIMIT_ROWS - SCPP_E_FIRST] = {"E_LIMIT_ROWS", "row limit exceeded"},
	[SCPP_E_LIMIT_STEPS - SCPP_E_FIRST] = {"E_LIMIT_STEPS", "step limit exceeded"},
	[SCPP_E_LIMIT_BYTES - SCPP_E_FIRST] = {"E_LIMIT_BYTES", "byte limit exceeded"},
	[SCPP_E_LIMIT_RESULT - SCPP_E_FIRST] = {"E_LIMIT_RESULT", "result size limit exceeded"},
	[SCPP_E_TYPE - SCPP_E_FIRST] = {"E_TYPE", "wrong value type"},
	[SCPP_E_UNBOUND - SCPP_E_FIRST] = {"E_UNBOUND", "variable must be bound here"},
	[SCPP_E_SCHEMA - SCPP_E_FIRST] = {"E_SCHEMA", "rejected by the schema"},
	[SCPP_E_NOT_HERE - SCPP_E_FIRST] = {"E_NOT_HERE", "entity lives on another node"},
	[SCPP_E_OVERLOAD - SCPP_E_FIRST] = {"E_OVERLOAD", "node overloaded"},
	[SCPP_E_REPLY_LOST - SCPP_E_FIRST] = {"E_REPLY_LOST",
					      "block executed; its reply is no longer held"},
	[SCPP_E_STALE_BLOCK - SCPP_E_FIRST] = {"E_STALE_BLOCK",
					       "block id below the replay window; not executed"},
	[SCPP_E_LIMIT_TIME - SCPP_E_FIRST] = {"E_LIMIT_TIME", "block exceeded its time budget"},
	[SCPP_E_LIMIT_HOPS - SCPP_E_FIRST] = {"E_LIMIT_HOPS",
					      "block forwarded between nodes too often"},
	[SCPP_E_LIMIT_PENDING - SCPP_E_FIRST] = {"E_LIMIT_PENDING",
						 "no room to hold a suspended block"},
	[SCPP_E_OUTCOME_UNKNOWN - SCPP_E_FIRST] = {"E_OUTCOME_UNKNOWN",
						   "part of the block did not finish in time: "
						   "its effect is unknown"},
};

const char *
scpp_error_name(int err)
{
	if (err < 0)
		err = -err;
	if (err < SCPP_E_FIRST || err >= SCPP_E_LAST)
		return NULL;
	return project_errors[err - SCPP_E_FIRST].name;
}

const char *
scpp_strerror(int err)
{
	if (err < 0)
		err = -err;
	if (err >= SCPP_E_FIRST && err < SCPP_E_LAST)
		return project_errors[err - SCPP_E_FIRST].text;
	if (err >= SCPP_E_LAST)
		return "unknown error";
	return strerror(err);
}

void
scpp_panic(const char *file, int line, const char *expr)
{
	fprintf(stderr, "scpp: invariant failed at %s:%d: %s\n", file, line, expr);
	fflush(stderr);
	abort();
}
