/* Shared by the libFuzzer targets in tests/fuzz/ (one file per target, built
 * by `make fuzz-build` into build/fuzz/bin/). Each target defines
 * LLVMFuzzerTestOneInput: it must accept any bytes, keep no state between
 * inputs that changes what the next input does, and free what it allocated
 * (libFuzzer's leak check runs after each input). */
#ifndef TESTS_FUZZ_FUZZ_H
#define TESTS_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A per-process scratch path "<dir>/vigil-fuzz-<pid>-<name>" in /dev/shm when
 * it exists (no disk writes per input), else in /tmp. */
static inline void fuzz_tmp_path(char *out, size_t outlen, const char *name)
{
	const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(out, outlen, "%s/vigil-fuzz-%ld-%s", dir, (long)getpid(), name);
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
