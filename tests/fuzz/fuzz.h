/* Shared by the libFuzzer targets in tests/fuzz/ (one file per target, built
 * by `make fuzz-build` into build/fuzz/bin/). Each target defines
 * LLVMFuzzerTestOneInput: it must accept any bytes, keep no state between
 * inputs that changes what the next input does, and free what it allocated
 * (libFuzzer's leak check runs after each input). */
#ifndef TESTS_FUZZ_FUZZ_H
#define TESTS_FUZZ_FUZZ_H

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Empty directory path of its files (one level: the targets' scratch
 * directories hold only files). Missing is fine. */
static inline void fuzz_empty_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char f[1024];
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(f, sizeof f, "%s/%s", path, e->d_name);
		unlink(f);
	}
	closedir(d);
}

#define FUZZ_MAX_TMP 8
static char fuzz_tmp[FUZZ_MAX_TMP][256];
static int fuzz_ntmp;

/* At exit (libFuzzer exits through exit() when its time is up): remove every
 * scratch path handed out, files and directories alike. */
static inline void fuzz_tmp_cleanup(void)
{
	for (int i = 0; i < fuzz_ntmp; i++) {
		fuzz_empty_dir(fuzz_tmp[i]);
		if (unlink(fuzz_tmp[i]) != 0)
			rmdir(fuzz_tmp[i]);
	}
}

/* A per-process scratch path "<dir>/vigil-fuzz-<pid>-<name>" in /dev/shm when
 * it exists (no disk writes per input), else in /tmp; removed at exit. */
static inline void fuzz_tmp_path(char *out, size_t outlen, const char *name)
{
	const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(out, outlen, "%s/vigil-fuzz-%ld-%s", dir, (long)getpid(), name);
	if (fuzz_ntmp == 0)
		atexit(fuzz_tmp_cleanup);
	if (fuzz_ntmp < FUZZ_MAX_TMP)
		snprintf(fuzz_tmp[fuzz_ntmp++], sizeof fuzz_tmp[0], "%s", out);
}

/* Write data[0..size) to path (truncating). 0, or -1 when the file could not
 * be written (the target then skips the input). */
static inline int fuzz_write_file(const char *path, const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		return -1;
	int ok = fwrite(data, 1, size, f) == size;
	return fclose(f) == 0 && ok ? 0 : -1;
}

#endif
