/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The EAL command line, built from the configuration as docs/CONFIG.md
 * specifies: generated arguments first, then eal.args, then the arguments
 * after `--` on scppd's command line, so later ones override earlier ones
 * (EAL keeps the last value of a repeated option). Options that cannot be
 * repeated (-l/-c/--lcores) are not generated when the user gives one.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scppd.h"

#define MAX_ARGS (64 + SCPP_CONFIG_MAX_EAL_ARGS + 2 * SCPP_CONFIG_MAX_PORTS + \
		  2 * SCPP_CONFIG_MAX_WORKERS + 1)

static bool
has_opt(const struct scpp_config *cfg, int argc, char **argv, const char *const *names)
{
	unsigned int i;
	int j;
	const char *const *n;

	for (n = names; *n != NULL; n++) {
		size_t l = strlen(*n);

		for (i = 0; i < cfg->eal.nb_args; i++)
			if (strncmp(cfg->eal.args[i], *n, l) == 0 &&
			    (cfg->eal.args[i][l] == '\0' || cfg->eal.args[i][l] == '='))
				return true;
		for (j = 0; j < argc; j++)
			if (strncmp(argv[j], *n, l) == 0 && (argv[j][l] == '\0' || argv[j][l] == '='))
				return true;
	}
	return false;
}

/* A devargs names a PCI device when it starts like a PCI address
 * ("0000:03:00.0" or "03:00.0"); anything else is a virtual device. */
static bool
is_pci(const char *devargs)
{
	unsigned int dom, bus, dev, fn;

	return sscanf(devargs, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) == 4 ||
	       sscanf(devargs, "%x:%x.%x", &bus, &dev, &fn) == 3;
}

/* Enough free hugepages (and a hugetlbfs mount) for memory_mb? */
static bool
hugepages_available(uint32_t memory_mb)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	unsigned long free_pages = 0, page_kb = 0;
	bool mounted = false;

	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL) {
		sscanf(line, "HugePages_Free: %lu", &free_pages);
		sscanf(line, "Hugepagesize: %lu kB", &page_kb);
	}
	fclose(f);
	f = fopen("/proc/mounts", "r");
	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, " hugetlbfs ") != NULL)
			mounted = true;
	fclose(f);
	return mounted && free_pages * page_kb >= (unsigned long)memory_mb * 1024;
}

static int
push(char **argv, int *argc, const char *fmt, const char *s, unsigned long n)
{
	char buf[SCPP_CONFIG_PATH_SIZE + 64];

	if (*argc >= MAX_ARGS - 1)
		return -E2BIG;
	if (s != NULL)
		snprintf(buf, sizeof(buf), fmt, s);
	else
		snprintf(buf, sizeof(buf), fmt, n);
	argv[*argc] = strdup(buf);
	if (argv[*argc] == NULL)
		return -ENOMEM;
	(*argc)++;
	argv[*argc] = NULL;
	return 0;
}

int
scppd_eal_args_build(const struct scpp_config *cfg, int extra_argc, char **extra_argv,
		     char ***argv_out, bool *hugepages_out)
{
	static const char *const lcore_opts[] = {"-l", "-c", "--lcores", NULL};
	static const char *const nohuge_opts[] = {"--no-huge", NULL};
	static const char *const inmem_opts[] = {"--in-memory", NULL};
	char **argv = calloc(MAX_ARGS, sizeof(*argv));
	char lcores[4 * SCPP_CONFIG_MAX_WORKERS + 8];
	bool any_pci = false, huge, user_nohuge, user_inmem;
	unsigned int i;
	int argc = 0, rc = 0, k;
	size_t off;

	if (argv == NULL)
		return -ENOMEM;
	user_nohuge = has_opt(cfg, extra_argc, extra_argv, nohuge_opts);
	user_inmem = has_opt(cfg, extra_argc, extra_argv, inmem_opts);
	switch (cfg->eal.hugepages) {
	case SCPP_CONFIG_HUGEPAGES_ON:
		huge = true;
		break;
	case SCPP_CONFIG_HUGEPAGES_OFF:
		huge = false;
		break;
	default:
		huge = hugepages_available(cfg->eal.memory_mb);
		break;
	}
	if (user_nohuge)
		huge = false;

	rc |= push(argv, &argc, "%s", "scppd", 0);
	if (!has_opt(cfg, extra_argc, extra_argv, lcore_opts)) {
		off = (size_t)snprintf(lcores, sizeof(lcores), "%u", cfg->eal.main_lcore);
		for (i = 0; i < cfg->nb_workers && off < sizeof(lcores); i++)
			off += (size_t)snprintf(lcores + off, sizeof(lcores) - off, ",%u",
						cfg->workers[i].lcore);
		rc |= push(argv, &argc, "-l", NULL, 0);
		rc |= push(argv, &argc, "%s", lcores, 0);
	}
	rc |= push(argv, &argc, "--main-lcore=%lu", NULL, cfg->eal.main_lcore);
	if (!user_inmem)
		rc |= push(argv, &argc, "--file-prefix=%s", cfg->eal.file_prefix, 0);
	if (huge) {
		rc |= push(argv, &argc, "-m", NULL, 0);
		rc |= push(argv, &argc, "%lu", NULL, cfg->eal.memory_mb);
		/* Unlink hugepage files right after mapping them: nothing is
		 * left in /dev/hugepages if scppd dies (no secondary
		 * processes use this daemon's memory). */
		if (!user_inmem)
			rc |= push(argv, &argc, "--huge-unlink", NULL, 0);
	} else if (!user_nohuge) {
		rc |= push(argv, &argc, "--no-huge", NULL, 0);
		rc |= push(argv, &argc, "-m", NULL, 0);
		rc |= push(argv, &argc, "%lu", NULL, cfg->eal.memory_mb);
		rc |= push(argv, &argc, "--no-shconf", NULL, 0);
	}
	for (i = 0; i < cfg->nb_ports; i++) {
		if (is_pci(cfg->ports[i].devargs)) {
			any_pci = true;
			rc |= push(argv, &argc, "-a", NULL, 0);
		} else {
			rc |= push(argv, &argc, "--vdev", NULL, 0);
		}
		rc |= push(argv, &argc, "%s", cfg->ports[i].devargs, 0);
	}
	/* $.copy.dma_skeleton: DPDK's software dmadev, one per worker (each
	 * local instance claims one alone); it needs IOVA as VA. Its copy
	 * thread is pinned to the main lcore, which sleeps most of the time,
	 * so that it never takes a worker's CPU. */
	if (cfg->copy.dma_skeleton) {
		static const char *const iova[] = {"--iova-mode", NULL};
		char dev[48];

		for (i = 0; i < cfg->nb_workers; i++) {
			snprintf(dev, sizeof(dev), "dma_skeleton%u,lcore=%u", i, cfg->eal.main_lcore);
			rc |= push(argv, &argc, "--vdev", NULL, 0);
			rc |= push(argv, &argc, "%s", dev, 0);
		}
		if (!has_opt(cfg, extra_argc, extra_argv, iova))
			rc |= push(argv, &argc, "--iova-mode=va", NULL, 0);
	}
	/* The VM's own NIC is a PCI device that must never be probed: the PCI
	 * bus is scanned only when a configured port is a PCI device, and
	 * then only that device (-a). */
	if (!any_pci)
		rc |= push(argv, &argc, "--no-pci", NULL, 0);
	for (i = 0; i < cfg->eal.nb_args; i++)
		rc |= push(argv, &argc, "%s", cfg->eal.args[i], 0);
	for (k = 0; k < extra_argc; k++)
		rc |= push(argv, &argc, "%s", extra_argv[k], 0);
	if (rc != 0) {
		scppd_eal_args_free(argv);
		return -ENOMEM;
	}
	*argv_out = argv;
	*hugepages_out = huge;
	return argc;
}

void
scppd_eal_args_free(char **argv)
{
	char **p;

	if (argv == NULL)
		return;
	for (p = argv; *p != NULL; p++)
		free(*p);
	free(argv);
}
