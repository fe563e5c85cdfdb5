// SPDX-License-Identifier: GPL-2.0
/*
 * Small helpers for the kernel's file interfaces (sysfs, procfs, cgroupfs)
 * and for running a test in a memory cgroup of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "vmm_util.h"

#define CGROUP_ROOT	"/sys/fs/cgroup"

int sysfs_write(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	if (n < 0)
		return -errno;
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

long sysfs_read_long(const char *path)
{
	char buf[64], *end;
	int fd = open(path, O_RDONLY);
	ssize_t n;
	long v;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || end == buf)
		return -1;
	return v;
}

int memcg_enter(char *dir, size_t len, const char *name)
{
	char path[256], pid[32];
	struct statfs sfs;

	if (statfs(CGROUP_ROOT, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		if (mount("cgroup2", CGROUP_ROOT, "cgroup2", 0, NULL))
			return -1;
		if (statfs(CGROUP_ROOT, &sfs) ||
		    sfs.f_type != CGROUP2_SUPER_MAGIC)
			return -1;
	}
	/* memory controller for the root's children (fails if it is on) */
	sysfs_write(CGROUP_ROOT "/cgroup.subtree_control", "+memory");
	snprintf(dir, len, CGROUP_ROOT "/%s.%d", name, getpid());
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -1;
	snprintf(path, sizeof(path), "%s/memory.current", dir);
	if (access(path, R_OK))
		goto fail;
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	if (sysfs_write(path, pid))
		goto fail;
	return 0;
fail:
	rmdir(dir);
	return -1;
}

void memcg_leave(const char *dir)
{
	char pid[32];

	snprintf(pid, sizeof(pid), "%d", getpid());
	sysfs_write(CGROUP_ROOT "/cgroup.procs", pid);
	rmdir(dir);
}
