/* Fuzz target: detector state restore for every registered detector
 * (detectors/registry.c, per series: load(), or a plain-data copy vetted by
 * valid()) and every peer-group detector (detectors/group.c). Input: one
 * selector byte (which detector, modulo the number registered, so detectors
 * added later are fuzzed too), one mode byte, then the bytes. Mode even: the
 * bytes are the body, wrapped here in a well-formed envelope so load() and
 * valid() see them directly; mode odd: the bytes are the whole envelope.
 * After a restore that succeeds, a few points are fed so that a state that
 * load() or valid() wrongly accepted shows up as a crash or UB.
 *
 * Seeds: run with VIGIL_FUZZ_SEEDS=DIR to write the saved state of each
 * detector after a short warm-up (real save() output) into DIR. */
#include <math.h>
#include <string.h>

#include "core/buf.h"
#include "detectors/detector.h"
#include "detectors/group.h"
#include "tests/fuzz/fuzz.h"

#define MAX_TYPES 64

struct target {
	const struct detector_type *t; /* per-series detector, or NULL */
	const struct group_type *g;    /* group detector, or NULL */
	struct detector d;             /* config */
	size_t size;
};

static struct target targets[MAX_TYPES];
static size_t ntargets;

/* The envelope header the registry writes: taken from a real save() so the
 * magic stays private to the registry. */
static size_t header_len(const struct target *x, size_t len)
{
	size_t name = strlen(x->d.type->name);
	size_t h = 4 + 4 + 4 + name + 4;
	return len >= h ? h : 0;
}

static int save_fresh(const struct target *x, void *state, struct buf *out)
{
	if (x->g)
		return group_state_save(x->g, x->d.cfg, state, out);
	return det_state_save(&x->d, state, out);
}

static int init_state(const struct target *x, void *state)
{
	memset(state, 0, x->size);
	return x->g ? x->g->init(x->d.cfg, state) : det_state_init(&x->d, state);
}

static void fini_state(const struct target *x, void *state)
{
	if (x->g == NULL)
		det_state_fini(&x->d, state);
}

/* Feed n points (per-series) or n ticks of 3 members (group). */
static void feed(const struct target *x, void *state, double ts, int n, double base)
{
	struct det_result out[3];
	double v[3];
	uint8_t present[3] = {1, 1, 1};
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < 3; k++)
			v[k] = base + (double)((i * 7 + k * 3) % 11);
		if (x->g) {
			size_t m = x->g->max_members(x->d.cfg);
			x->g->update(x->d.cfg, state, ts + 60.0 * i, m < 3 ? m : 3, v, present, out);
		} else {
			x->d.type->update(x->d.cfg, state, ts + 60.0 * i, v[0], out);
		}
	}
}

static void write_seeds(const char *dir)
{
	for (size_t i = 0; i < ntargets; i++) {
		const struct target *x = &targets[i];
		void *state = malloc(x->size);
		struct buf b = {0};
		char path[512];
		if (state == NULL || init_state(x, state) != 0)
			abort();
		feed(x, state, 1.7e9, 300, 100.0);
		if (save_fresh(x, state, &b) != 0 || !buf_ok(&b))
			abort();
		size_t h = header_len(x, b.len);
		uint8_t sel[2] = {(uint8_t)i, 0};
		snprintf(path, sizeof path, "%s/%s", dir, x->d.type->name);
		FILE *f = fopen(path, "wb");
		if (f == NULL || fwrite(sel, 1, 2, f) != 2 ||
		    fwrite(b.data + h, 1, b.len - h, f) != b.len - h)
			abort();
		fclose(f);
		fini_state(x, state);
		free(state);
		buf_free(&b);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const struct detector_type *const *all = det_all();
	const struct group_type *const *groups = group_all();
	char err[256];
	(void)argc;
	(void)argv;
	for (size_t i = 0; all[i] && ntargets < MAX_TYPES; i++, ntargets++) {
		struct target *x = &targets[ntargets];
		x->t = all[i];
		if (det_new_of(all[i], NULL, 0, &x->d, err, sizeof err) != 0)
			abort();
		x->size = det_state_size(&x->d);
	}
	for (size_t i = 0; groups[i] && ntargets < MAX_TYPES; i++, ntargets++) {
		struct target *x = &targets[ntargets];
		x->g = groups[i];
		if (group_det_new(groups[i]->det.name, NULL, 0, &x->d, err, sizeof err) != 0)
			abort();
		x->size = groups[i]->state_size(x->d.cfg);
	}
	const char *seeds = getenv("VIGIL_FUZZ_SEEDS");
	if (seeds != NULL)
		write_seeds(seeds);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || ntargets == 0)
		return 0;
	const struct target *x = &targets[data[0] % ntargets];
	int whole = data[1] & 1;
	void *state = malloc(x->size);
	struct buf env = {0};
	if (state == NULL)
		return 0;
	memset(state, 0, x->size);
	data += 2;
	size -= 2;
	if (!whole) { /* the registry's envelope around the fuzzed body */
		void *fresh = calloc(1, x->size);
		if (fresh == NULL || init_state(x, fresh) != 0 || save_fresh(x, fresh, &env) != 0)
			abort();
		size_t h = header_len(x, env.len);
		fini_state(x, fresh);
		free(fresh);
		env.len = h;
		uint32_t n = (uint32_t)size;
		memcpy(env.data + h - 4, &n, 4);
		buf_put(&env, data, size);
		if (!buf_ok(&env))
			abort();
		data = env.data;
		size = env.len;
	}
	int rc = x->g ? group_state_load(x->g, x->d.cfg, state, data, size)
		      : det_state_load(&x->d, state, data, size);
	(void)rc; /* refused or not, the state must be usable: fresh or restored */
	feed(x, state, 1.7e9 + 86400.0, 5, 50.0);
	fini_state(x, state);
	free(state);
	buf_free(&env);
	return 0;
}
