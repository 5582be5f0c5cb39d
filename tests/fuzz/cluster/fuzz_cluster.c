/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target for what a node reads from etcd (lib/cluster): the JSON
 * gateway's range answer with its base64 keys and values, each value a
 * node record (lib/config's parser), then a map built from whatever was
 * accepted. The first byte picks the entry point, so one corpus covers the
 * three: 0 a range answer, 1 a bare record, 2 base64.
 *
 * Properties checked beyond "no crash, no sanitizer report": an accepted
 * record re-encodes to a record that parses to the same id and name; a
 * built map's routes are sorted and owned by nodes of the map.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scpp_cluster.h"
#include "scpp_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_record(const struct scpp_config_cluster_node *n)
{
	struct scpp_config_cluster_node back;
	char buf[4096];
	int len = scpp_cluster_record_encode(n, buf, sizeof(buf));

	if (len < 0 || scpp_config_cluster_node_parse(buf, (size_t)len, "re", &back, NULL) != 0 ||
	    back.id != n->id || strcmp(back.name, n->name) != 0)
		abort();
}

static void
check_map(const struct scpp_cluster_map *m)
{
	for (unsigned int i = 0; i < m->nb_routes; i++) {
		if (scpp_cluster_map_find(m, m->routes[i].node) == NULL)
			abort();
		if (i > 0 && scpp_oid_cmp(m->routes[i - 1].prefix.oid, m->routes[i].prefix.oid) > 0)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct scpp_cluster_range r;
	struct scpp_config_cluster_node n;
	struct scpp_cluster_map *m = NULL;
	uint8_t out[4096];

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		if (scpp_cluster_etcd_decode_range((const char *)data + 1, size - 1, "/p/", &r, NULL,
						   0) != 0)
			return 0;
		for (unsigned int i = 0; i < r.nb; i++)
			check_record(&r.recs[i].rec);
		if (scpp_cluster_map_build(NULL, NULL, r.recs, r.nb, r.revision, 1, &m, NULL) == 0)
			check_map(m);
		scpp_cluster_map_free(m);
		break;
	case 1:
		if (scpp_config_cluster_node_parse((const char *)data + 1, size - 1, "k", &n, NULL) == 0)
			check_record(&n);
		break;
	default:
		scpp_cluster_b64_decode((const char *)data + 1, size - 1, out, sizeof(out));
		break;
	}
	return 0;
}
