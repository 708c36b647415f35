// SPDX-License-Identifier: MIT
/*
 * randread DEVICE COUNT: COUNT reads of 4 KiB at random 4 KiB-aligned offsets of DEVICE, one at a
 * time (queue depth 1), with O_DIRECT so that each one reaches the device. Runs in the L2 guests
 * of the nested virtio benchmark (busybox has no fio, and dd reads only sequentially); built
 * static by mk-l2-initrd.sh. Prints "n=COUNT seconds=S iops=I" or a line starting "error".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 4096u

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	uint64_t size, blocks, state = 0x9e3779b97f4a7c15ull;
	unsigned long count;
	void *buf;
	double t0, t1;
	int fd;

	if (argc != 3 || !(count = strtoul(argv[2], NULL, 10))) {
		fprintf(stderr, "usage: randread DEVICE COUNT\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_DIRECT);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) || posix_memalign(&buf, BLOCK, BLOCK)) {
		printf("error %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	blocks = size / BLOCK;
	if (!blocks) {
		printf("error %s: smaller than one block\n", argv[1]);
		return 1;
	}
	t0 = now();
	for (unsigned long i = 0; i < count; i++) {
		/* xorshift64: the same offsets in every run, spread over the device */
		state ^= state << 13;
		state ^= state >> 7;
		state ^= state << 17;
		if (pread(fd, buf, BLOCK, (off_t)(state % blocks * BLOCK)) != BLOCK) {
			printf("error read %lu: %s\n", i, strerror(errno));
			return 1;
		}
	}
	t1 = now();
	printf("n=%lu seconds=%.3f iops=%.0f\n", count, t1 - t0, (double)count / (t1 - t0));
	return 0;
}
