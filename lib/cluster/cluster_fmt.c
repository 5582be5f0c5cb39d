/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Printing a cluster map: the table and the JSON document of `scpp cluster`
 * (docs/CLUSTER.md). The JSON node objects use the record's own keys, so a
 * node printed here can be pasted into $.cluster.nodes as it is (after
 * dropping "state", "slot" and "origin").
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "scpp_common.h"
#include "scpp_oid.h"
#include "scpp_cluster.h"
#include "cluster_priv.h"

void
cluster_shards_format(char *buf, size_t size, const struct scpp_config_cluster_node *n)
{
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < n->nb_shards; i++) {
		int k = snprintf(buf + o, size - o, "%s%u", i ? "," : "", n->shards[i]);

		if (k < 0 || o + (size_t)k >= size) {
			if (size >= 4)
				memcpy(buf + size - 4, "...", 4);
			return;
		}
		o += (size_t)k;
	}
	if (n->nb_shards == 0 && size > 1)
		snprintf(buf, size, "-");
}

/* JSON string of plain text (names, origins: no control characters). */
static void
json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void
print_json_node(FILE *f, const struct scpp_cluster_map *m, const struct scpp_cluster_node *n)
{
	char a[16], p[SCPP_OID_STR_MAX + 8];
	bool first = true;

	cluster_ipv4_format(a, n->rec.ipv4);
	fprintf(f, "{\"id\":%" PRIu32 ",\"name\":", n->rec.id);
	json_str(f, n->rec.name);
	fprintf(f, ",\"locale\":%u,\"ipv4\":\"%s\",\"base_port\":%u,\"shards\":[", n->rec.locale,
		a, n->rec.base_port);
	for (unsigned int i = 0; i < n->rec.nb_shards; i++)
		fprintf(f, "%s%u", i ? "," : "", n->rec.shards[i]);
	if (n->rec.has_mac)
		fprintf(f, "],\"mac\":\"%02x:%02x:%02x:%02x:%02x:%02x\"", n->rec.mac[0],
			n->rec.mac[1], n->rec.mac[2], n->rec.mac[3], n->rec.mac[4], n->rec.mac[5]);
	else
		fprintf(f, "],\"mac\":null");
	fprintf(f, ",\"state\":\"%s\",\"prefixes\":[", scpp_cluster_state_name(n->state));
	/* Every prefix the node owns, as the route table holds them. */
	for (unsigned int i = 0; i < m->nb_routes; i++) {
		if (m->routes[i].node != n->rec.id)
			continue;
		scpp_oid_prefix_format(p, sizeof(p), &m->routes[i].prefix);
		fprintf(f, "%s{\"prefix\":\"%s\",\"shard\":%u}", first ? "" : ",", p,
			m->routes[i].shard);
		first = false;
	}
	fprintf(f, "],\"lease\":\"%" PRIx64 "\",\"mod_revision\":%" PRIu64 ",\"origin\":",
		n->lease, n->mod_revision);
	json_str(f, n->origin);
	fputc('}', f);
}

int
scpp_cluster_map_print(FILE *f, const struct scpp_cluster_map *m, bool json, const char *header)
{
	if (f == NULL || m == NULL)
		return -EINVAL;
	if (json) {
		fprintf(f, "{\"source\":");
		json_str(f, header != NULL ? header :
			 scpp_config_cluster_source_name(m->source));
		fprintf(f, ",\"self\":%" PRIu32 ",\"revision\":%" PRIu64 ",\"nodes\":[", m->self,
			m->revision);
		for (unsigned int i = 0; i < m->nb_nodes; i++) {
			fputs(i ? "," : "", f);
			print_json_node(f, m, &m->nodes[i]);
		}
		fprintf(f, "],\"routes\":%u}\n", m->nb_routes);
		return ferror(f) ? -EIO : 0;
	}
	if (header != NULL)
		fprintf(f, "%s\n", header);
	fprintf(f, "%-6s %-16s %-12s %-21s %-6s %-12s %-17s %s\n", "NODE", "NAME", "STATE",
		"ADDRESS", "LOCALE", "SHARDS", "MAC", "PREFIXES");
	for (unsigned int i = 0; i < m->nb_nodes; i++) {
		const struct scpp_cluster_node *n = &m->nodes[i];
		char addr[32], a[16], sh[64], mac[18] = "-", p[SCPP_OID_STR_MAX + 8];
		bool first = true;

		cluster_ipv4_format(a, n->rec.ipv4);
		snprintf(addr, sizeof(addr), "%s:%u", a, n->rec.base_port);
		cluster_shards_format(sh, sizeof(sh), &n->rec);
		if (n->rec.has_mac)
			snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->rec.mac[0],
				 n->rec.mac[1], n->rec.mac[2], n->rec.mac[3], n->rec.mac[4],
				 n->rec.mac[5]);
		fprintf(f, "%-6" PRIu32 " %-16s %-12s %-21s %-6u %-12s %-17s ", n->rec.id,
			n->rec.name, scpp_cluster_state_name(n->state), addr, n->rec.locale, sh, mac);
		for (unsigned int k = 0; k < m->nb_routes; k++) {
			if (m->routes[k].node != n->rec.id)
				continue;
			scpp_oid_prefix_format(p, sizeof(p), &m->routes[k].prefix);
			fprintf(f, "%s%s", first ? "" : " ", p);
			first = false;
		}
		fputc('\n', f);
	}
	fprintf(f, "%u nodes, %u routes\n", m->nb_nodes, m->nb_routes);
	return ferror(f) ? -EIO : 0;
}
