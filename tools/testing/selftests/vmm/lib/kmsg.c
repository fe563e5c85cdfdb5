// SPDX-License-Identifier: GPL-2.0
/*
 * Reading the kernel log from a test: kmsg_open() starts after the last
 * record logged so far, kmsg_count() reads every record logged since.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "vmm_util.h"

int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	TEST_ASSERT(fd >= 0, "open /dev/kmsg");
	TEST_ASSERT(lseek(fd, 0, SEEK_END) >= 0, "lseek /dev/kmsg");
	return fd;
}

int kmsg_count(int fd, const char *needle, int *splats)
{
	static const char * const splat[] = {
		"WARNING:", "BUG:", "Oops", "general protection fault",
	};
	char rec[2048];
	ssize_t len;
	size_t i;
	int n = 0;

	for (;;) {
		len = read(fd, rec, sizeof(rec) - 1);
		if (len < 0 && errno == EPIPE)	/* records lost: go on */
			continue;
		if (len <= 0)
			break;
		rec[len] = '\0';
		if (strstr(rec, needle))
			n++;
		for (i = 0; splats && i < ARRAY_LEN(splat); i++)
			if (strstr(rec, splat[i]))
				(*splats)++;
	}
	return n;
}
