/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * scpp-bench-fs: file system operations per second in one directory, one
 * thread, as an application sees them (system calls, no library caching).
 * perf/bench-fs/run.py runs it on an scpp-fs mount, on libfuse's
 * passthrough_ll example over tmpfs and on tmpfs itself, in one run.
 *
 *   scpp-bench-fs DIR [--label NAME] [--quick]
 *
 * One JSON line per measurement:
 *   {"bench":"fs","target":NAME,"op":OP,"ops":N,"bytes":B,"seconds":S,"ops_per_s":R,"mib_per_s":M}
 *
 * Operations (each a fixed count: every loop ends by itself):
 *   stat             stat() of one of 100 files, round robin
 *   create_unlink    open(O_CREAT|O_EXCL) + close + unlink, one op per pair
 *   readdir_10000    opendir + readdir to the end + closedir of 10 000 entries (ops: entries)
 *   write_4k_rand    pwrite() of 4 KiB at a random 4 KiB-aligned offset of a 64 MiB file
 *   read_4k_rand     pread() of 4 KiB the same way (the file opened afresh)
 *   write_1m_seq     write() of 1 MiB blocks, a new 128 MiB file
 *   read_1m_seq      read() of 1 MiB blocks of it (opened afresh)
 */
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *label = "dir";

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void
emit(const char *op, uint64_t ops, uint64_t bytes, double s)
{
	printf("{\"bench\":\"fs\",\"target\":\"%s\",\"op\":\"%s\",\"ops\":%llu,\"bytes\":%llu,"
	       "\"seconds\":%.6f,\"ops_per_s\":%.1f,\"mib_per_s\":%.2f}\n",
	       label, op, (unsigned long long)ops, (unsigned long long)bytes, s, (double)ops / s,
	       (double)bytes / s / (1 << 20));
	fflush(stdout);
}

static void
die(const char *what, const char *path)
{
	fprintf(stderr, "scpp-bench-fs: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

static void
path_of(char *buf, size_t n, const char *dir, const char *fmt, unsigned int i)
{
	char name[64];

	snprintf(name, sizeof(name), fmt, i);
	if ((size_t)snprintf(buf, n, "%s/%s", dir, name) >= n)
		die("path too long:", dir);
}

static void
touch(const char *p)
{
	int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);

	if (fd < 0)
		die("create", p);
	close(fd);
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;

static uint64_t
rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static void
bench_stat(const char *dir, unsigned int n)
{
	char p[4096];
	struct stat st;
	double t0;

	for (unsigned int i = 0; i < 100; i++) {
		path_of(p, sizeof(p), dir, "s%u", i);
		touch(p);
	}
	t0 = now_s();
	for (unsigned int i = 0; i < n; i++) {
		path_of(p, sizeof(p), dir, "s%u", i % 100);
		if (stat(p, &st) != 0)
			die("stat", p);
	}
	emit("stat", n, 0, now_s() - t0);
	for (unsigned int i = 0; i < 100; i++) {
		path_of(p, sizeof(p), dir, "s%u", i);
		unlink(p);
	}
}

static void
bench_create_unlink(const char *dir, unsigned int n)
{
	char p[4096];
	double t0 = now_s();

	for (unsigned int i = 0; i < n; i++) {
		int fd;

		path_of(p, sizeof(p), dir, "c%u", i);
		fd = open(p, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0)
			die("create", p);
		close(fd);
		if (unlink(p) != 0)
			die("unlink", p);
	}
	emit("create_unlink", n, 0, now_s() - t0);
}

static void
bench_readdir(const char *dir, unsigned int entries, unsigned int reps)
{
	char sub[4096], p[4096];
	uint64_t seen = 0;
	double t0;

	if ((size_t)snprintf(sub, sizeof(sub), "%s/big", dir) >= sizeof(sub) - 64)
		die("path too long:", dir);
	if (mkdir(sub, 0755) != 0)
		die("mkdir", sub);
	for (unsigned int i = 0; i < entries; i++) {
		path_of(p, sizeof(p), sub, "entry-%06u", i);
		touch(p);
	}
	t0 = now_s();
	for (unsigned int r = 0; r < reps; r++) {
		DIR *d = opendir(sub);
		struct dirent *de;

		if (d == NULL)
			die("opendir", sub);
		while ((de = readdir(d)) != NULL)
			seen++;
		closedir(d);
	}
	if (seen != (uint64_t)(entries + 2) * reps) {
		fprintf(stderr, "scpp-bench-fs: readdir saw %llu entries, not %llu\n",
			(unsigned long long)seen, (unsigned long long)(entries + 2) * reps);
		exit(1);
	}
	emit("readdir_10000", seen, 0, now_s() - t0);
	for (unsigned int i = 0; i < entries; i++) {
		path_of(p, sizeof(p), sub, "entry-%06u", i);
		unlink(p);
	}
	rmdir(sub);
}

static void
bench_data(const char *dir, uint64_t rand_file, unsigned int nrand, uint64_t seq_file)
{
	static uint8_t buf[1 << 20];
	char p[4096];
	double t0;
	int fd;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rnd();
	/* 4 KiB random on a file written first (not timed). */
	snprintf(p, sizeof(p), "%s/rand", dir);
	if ((fd = open(p, O_CREAT | O_RDWR | O_TRUNC, 0644)) < 0)
		die("open", p);
	for (uint64_t off = 0; off < rand_file; off += sizeof(buf))
		if (pwrite(fd, buf, sizeof(buf), (off_t)off) != (ssize_t)sizeof(buf))
			die("pwrite", p);
	t0 = now_s();
	for (unsigned int i = 0; i < nrand; i++) {
		uint64_t off = rnd() % (rand_file / 4096) * 4096;

		if (pwrite(fd, buf + (i % 256) * 4096, 4096, (off_t)off) != 4096)
			die("pwrite", p);
	}
	emit("write_4k_rand", nrand, (uint64_t)nrand * 4096, now_s() - t0);
	close(fd);
	if ((fd = open(p, O_RDONLY)) < 0)
		die("open", p);
	t0 = now_s();
	for (unsigned int i = 0; i < nrand; i++) {
		uint64_t off = rnd() % (rand_file / 4096) * 4096;

		if (pread(fd, buf, 4096, (off_t)off) != 4096)
			die("pread", p);
	}
	emit("read_4k_rand", nrand, (uint64_t)nrand * 4096, now_s() - t0);
	close(fd);
	unlink(p);
	/* 1 MiB sequential. */
	snprintf(p, sizeof(p), "%s/seq", dir);
	if ((fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644)) < 0)
		die("open", p);
	t0 = now_s();
	for (uint64_t off = 0; off < seq_file; off += sizeof(buf))
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			die("write", p);
	emit("write_1m_seq", seq_file >> 20, seq_file, now_s() - t0);
	close(fd);
	if ((fd = open(p, O_RDONLY)) < 0)
		die("open", p);
	t0 = now_s();
	for (uint64_t off = 0; off < seq_file; off += sizeof(buf))
		if (read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			die("read", p);
	emit("read_1m_seq", seq_file >> 20, seq_file, now_s() - t0);
	close(fd);
	unlink(p);
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	bool quick = false;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--label") == 0 && i + 1 < argc)
			label = argv[++i];
		else if (strcmp(argv[i], "--quick") == 0)
			quick = true;
		else if (argv[i][0] != '-' && dir == NULL)
			dir = argv[i];
		else {
			fprintf(stderr, "usage: scpp-bench-fs DIR [--label NAME] [--quick]\n");
			return 2;
		}
	}
	if (dir == NULL) {
		fprintf(stderr, "usage: scpp-bench-fs DIR [--label NAME] [--quick]\n");
		return 2;
	}
	bench_stat(dir, quick ? 2000 : 20000);
	bench_create_unlink(dir, quick ? 500 : 5000);
	bench_readdir(dir, 10000, quick ? 1 : 5);
	bench_data(dir, 64u << 20, quick ? 500 : 5000, (quick ? 32ull : 128ull) << 20);
	return 0;
}
