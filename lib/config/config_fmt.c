/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Configuration: printing as JSON, and the built-in default configuration.
 *
 * Printing walks the same key tables as parsing, in table order, with every
 * key present, so the output is the effective configuration and loads back
 * to an identical struct (the unit tests check both directions).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "scpp_common.h"
#include "scpp_oid.h"
#include "scpp_config.h"
#include "config_priv.h"

/*
 * Kept byte-identical to scpp_config_dump() of scpp_config_defaults() and to
 * config/default.json; the unit tests compare all three.
 */
const char SCPP_CONFIG_DEFAULT_JSON[] =
	"{\n"
	"  \"node\": {\n"
	"    \"locale\": 0,\n"
	"    \"id\": 1,\n"
	"    \"name\": \"scpp\",\n"
	"    \"state_dir\": \"/var/lib/scpp\"\n"
	"  },\n"
	"  \"eal\": {\n"
	"    \"main_lcore\": 0,\n"
	"    \"memory_mb\": 256,\n"
	"    \"hugepages\": \"auto\",\n"
	"    \"file_prefix\": \"scppd\",\n"
	"    \"args\": []\n"
	"  },\n"
	"  \"ports\": [\n"
	"    {\n"
	"      \"devargs\": \"net_tap0,iface=scpp0\",\n"
	"      \"ipv4\": \"198.18.0.2/24\",\n"
	"      \"gateway\": null,\n"
	"      \"mtu\": 1500,\n"
	"      \"rx_desc\": 1024,\n"
	"      \"tx_desc\": 1024,\n"
	"      \"queues_per_worker\": 1,\n"
	"      \"mempool_size\": 8191,\n"
	"      \"mempool_cache\": 256,\n"
	"      \"mbuf_data_room\": 0\n"
	"    }\n"
	"  ],\n"
	"  \"udp\": {\n"
	"    \"base_port\": 7300\n"
	"  },\n"
	"  \"workers\": [\n"
	"    {\n"
	"      \"lcore\": 1,\n"
	"      \"shard\": 0\n"
	"    }\n"
	"  ],\n"
	"  \"store\": {\n"
	"    \"entries\": 65536,\n"
	"    \"slab_mb\": 64,\n"
	"    \"max_value_bytes\": 1048576,\n"
	"    \"dict_size\": 4096\n"
	"  },\n"
	"  \"eval\": {\n"
	"    \"max_rows\": 4096,\n"
	"    \"max_steps\": 1000000,\n"
	"    \"max_bytes\": 16777216,\n"
	"    \"max_result_bytes\": 1048576,\n"
	"    \"max_statuses\": 256,\n"
	"    \"max_time_us\": 1000\n"
	"  },\n"
	"  \"delivery\": {\n"
	"    \"reply_cache_entries\": 32768,\n"
	"    \"reply_cache_mb\": 16,\n"
	"    \"retention_ms\": 10000,\n"
	"    \"clients\": 8192,\n"
	"    \"reassembly_slots\": 64,\n"
	"    \"reassembly_per_source\": 8,\n"
	"    \"reassembly_timeout_ms\": 500,\n"
	"    \"max_fragments\": 64,\n"
	"    \"tx_backlog\": 4096,\n"
	"    \"error_rate_per_source\": 20,\n"
	"    \"error_rate_total\": 2000,\n"
	"    \"max_parked\": 256,\n"
	"    \"park_timeout_ms\": 1000\n"
	"  },\n"
	"  \"routes\": [],\n"
	"  \"cluster\": {\n"
	"    \"source\": \"static\",\n"
	"    \"port\": 0,\n"
	"    \"nodes\": [],\n"
	"    \"etcd\": {\n"
	"      \"endpoints\": [\"http://127.0.0.1:2379\"],\n"
	"      \"prefix\": \"/scpp/default/\",\n"
	"      \"lease_ttl_s\": 10,\n"
	"      \"poll_ms\": 500,\n"
	"      \"timeout_ms\": 1000,\n"
	"      \"start_wait_ms\": 5000\n"
	"    },\n"
	"    \"forward\": {\n"
	"      \"enabled\": true,\n"
	"      \"max_hops\": 2\n"
	"    },\n"
	"    \"cont\": {\n"
	"      \"enabled\": true,\n"
	"      \"timeout_ms\": 500,\n"
	"      \"max_hops\": 4,\n"
	"      \"max_rows\": 1024,\n"
	"      \"max_pending\": 256,\n"
	"      \"fan_out\": false,\n"
	"      \"max_fan_out\": 64\n"
	"    }\n"
	"  },\n"
	"  \"schema\": {\n"
	"    \"files\": [\"schema/core.json\", \"schema/posix.json\"]\n"
	"  },\n"
	"  \"auth\": {\n"
	"    \"mode\": \"required\",\n"
	"    \"node_key\": \"\",\n"
	"    \"roots\": [],\n"
	"    \"peers\": [],\n"
	"    \"revocations\": \"\",\n"
	"    \"revocation_capacity\": 4096,\n"
	"    \"sessions\": 1024,\n"
	"    \"per_principal\": 64,\n"
	"    \"session_lifetime_s\": 86400,\n"
	"    \"cookie_lifetime_s\": 30,\n"
	"    \"epoch_lifetime_s\": 120,\n"
	"    \"handshakes_per_s\": 2000\n"
	"  },\n"
	"  \"log\": {\n"
	"    \"level\": \"info\",\n"
	"    \"types\": {}\n"
	"  },\n"
	"  \"telemetry\": {\n"
	"    \"enabled\": true\n"
	"  },\n"
	"  \"idle\": {\n"
	"    \"enabled\": true,\n"
	"    \"max_sleep_us\": 100\n"
	"  },\n"
	"  \"copy\": {\n"
	"    \"local\": \"auto\",\n"
	"    \"remote\": \"none\",\n"
	"    \"dma_skeleton\": false,\n"
	"    \"workers\": [],\n"
	"    \"fabric\": {\n"
	"      \"provider\": \"tcp\",\n"
	"      \"node\": \"\",\n"
	"      \"service\": \"\"\n"
	"    },\n"
	"    \"verbs\": {\n"
	"      \"device\": \"\",\n"
	"      \"port\": 1,\n"
	"      \"addressing\": \"lid\",\n"
	"      \"gid_index\": 0\n"
	"    },\n"
	"    \"ring_size\": 1024,\n"
	"    \"max_len\": 67108864,\n"
	"    \"part_max\": 0,\n"
	"    \"timeout_ms\": 1000,\n"
	"    \"max_regions\": 16,\n"
	"    \"max_remotes\": 64,\n"
	"    \"recover\": true,\n"
	"    \"min_bytes\": 4096,\n"
	"    \"sync_max_bytes\": 4194304,\n"
	"    \"inflight_bytes\": 4194304,\n"
	"    \"inflight_copies\": 64,\n"
	"    \"test_stall_len\": 0,\n"
	"    \"memory_windows\": []\n"
	"  }\n"
	"}\n";

void
config_quote(char *buf, size_t size, const char *s)
{
	size_t o = 0;

	if (size < 8) {
		if (size > 0)
			buf[0] = '\0';
		return;
	}
	buf[o++] = '"';
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		char esc[8];
		size_t n;

		if (ch == '"' || ch == '\\')
			n = (size_t)snprintf(esc, sizeof(esc), "\\%c", ch);
		else if (ch == '\n')
			n = (size_t)snprintf(esc, sizeof(esc), "\\n");
		else if (ch == '\t')
			n = (size_t)snprintf(esc, sizeof(esc), "\\t");
		else if (ch < 0x20 || ch == 0x7f)
			n = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", ch);
		else
			n = (size_t)snprintf(esc, sizeof(esc), "%c", ch);
		/* Keep room for `..."` and the NUL. */
		if (o + n + 5 > size) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(buf + o, esc, n);
		o += n;
	}
	buf[o++] = '"';
	buf[o] = '\0';
}

void
config_ipv4_format(char *buf, uint32_t a)
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

void
config_mac_format(char *buf, const uint8_t mac[6])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

static uint64_t
load_uint(const void *p, uint8_t size)
{
	switch (size) {
	case 1: return *(const uint8_t *)p;
	case 2: return *(const uint16_t *)p;
	case 4: return *(const uint32_t *)p;
	default: return *(const uint64_t *)p;
	}
}

static void
print_str(FILE *f, const char *s)
{
	/* Values are at most SCPP_CONFIG_PATH_SIZE - 1 characters; escaping
	 * at most sextuples them. */
	char q[SCPP_CONFIG_PATH_SIZE * 6 + 8];

	config_quote(q, sizeof(q), s);
	fputs(q, f);
}

static void print_object(FILE *f, const struct section *s, const void *base, int indent);

static void
print_list(FILE *f, const struct field *fl, const char *items, unsigned int n, int indent)
{
	if (n == 0) {
		fputs("[]", f);
		return;
	}
	fputs("[\n", f);
	for (unsigned int i = 0; i < n; i++) {
		fprintf(f, "%*s", indent + 2, "");
		print_object(f, fl->sec, items + (size_t)i * fl->esize, indent + 2);
		fputs(i + 1 < n ? ",\n" : "\n", f);
	}
	fprintf(f, "%*s]", indent, "");
}

static void
print_log_types(FILE *f, const struct scpp_config_log *log, int indent)
{
	if (log->nb_types == 0) {
		fputs("{}", f);
		return;
	}
	fputs("{\n", f);
	for (unsigned int i = 0; i < log->nb_types; i++) {
		fprintf(f, "%*s", indent + 2, "");
		print_str(f, log->types[i].name);
		fprintf(f, ": \"%s\"%s\n", scpp_config_log_level_name(log->types[i].level),
			i + 1 < log->nb_types ? "," : "");
	}
	fprintf(f, "%*s}", indent, "");
}

static void
print_field(FILE *f, const struct field *fl, const void *base, int indent)
{
	const char *v = (const char *)base + fl->off;
	const char *aux = (const char *)base + fl->aux;
	char a[18], p[SCPP_OID_STR_MAX];

	switch (fl->type) {
	case T_BOOL:
		fputs(*(const bool *)v ? "true" : "false", f);
		break;
	case T_UINT:
		fprintf(f, "%" PRIu64, load_uint(v, fl->size));
		break;
	case T_ENUM:
		fprintf(f, "\"%s\"", fl->names[load_uint(v, fl->size) - fl->min]);
		break;
	case T_STR:
		print_str(f, v);
		break;
	case T_IPV4_PREFIX:
		config_ipv4_format(a, *(const uint32_t *)v);
		fprintf(f, "\"%s/%u\"", a, *(const uint8_t *)aux);
		break;
	case T_IPV4_OPT:
		if (*(const bool *)aux) {
			config_ipv4_format(a, *(const uint32_t *)v);
			fprintf(f, "\"%s\"", a);
		} else {
			fputs("null", f);
		}
		break;
	case T_PEER:
		config_ipv4_format(a, *(const uint32_t *)v);
		fprintf(f, "\"%s:%u\"", a, *(const uint16_t *)aux);
		break;
	case T_OID_PREFIX:
		scpp_oid_prefix_format(p, sizeof(p), (const struct scpp_oid_prefix *)v);
		fprintf(f, "\"%s\"", p);
		break;
	case T_OID:
		scpp_oid_format(p, sizeof(p), *(const struct scpp_oid *)v);
		fprintf(f, "\"%s\"", p);
		break;
	case T_HEX:
		fputc('"', f);
		for (size_t i = 0; i < fl->esize; i++)
			fprintf(f, "%02x", ((const uint8_t *)v)[i]);
		fputc('"', f);
		break;
	case T_STR_LIST:
		fputc('[', f);
		for (unsigned int i = 0; i < *(const unsigned int *)aux; i++) {
			fputs(i ? ", " : "", f);
			print_str(f, v + (size_t)i * fl->esize);
		}
		fputc(']', f);
		break;
	case T_LOG_TYPES:
		print_log_types(f, base, indent);
		break;
	case T_IPV4:
		config_ipv4_format(a, *(const uint32_t *)v);
		fprintf(f, "\"%s\"", a);
		break;
	case T_MAC_OPT:
		if (*(const bool *)aux) {
			config_mac_format(a, (const uint8_t *)v);
			fprintf(f, "\"%s\"", a);
		} else {
			fputs("null", f);
		}
		break;
	case T_UINT_LIST:
		fputc('[', f);
		for (unsigned int i = 0; i < *(const unsigned int *)aux; i++)
			fprintf(f, "%s%" PRIu64, i ? ", " : "", load_uint(v + (size_t)i * fl->size,
									   fl->size));
		fputc(']', f);
		break;
	case T_SECTION:
		print_object(f, fl->sec, v, indent);
		break;
	case T_LIST:
		print_list(f, fl, v, *(const unsigned int *)aux, indent);
		break;
	case T_HEAP_LIST:
		print_list(f, fl, *(const char *const *)v, *(const unsigned int *)aux, indent);
		break;
	}
}

static void
print_object(FILE *f, const struct section *s, const void *base, int indent)
{
	fputs("{\n", f);
	for (size_t i = 0; i < s->nb_fields; i++) {
		fprintf(f, "%*s\"%s\": ", indent + 2, "", s->fields[i].key);
		print_field(f, &s->fields[i], base, indent + 2);
		fputs(i + 1 < s->nb_fields ? ",\n" : "\n", f);
	}
	fprintf(f, "%*s}", indent, "");
}

int
config_print(FILE *f, const struct scpp_config *cfg)
{
	print_object(f, &config_root, cfg, 0);
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}
