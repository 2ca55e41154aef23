/* The detector registry: the only place that names every detector type, and
 * the generic helpers over the vtable declared in detector.h.
 * Adding a detector = one file in detectors/ + one line in detector_types[]. */
#include <stdlib.h>
#include <string.h>

#include "detectors/detector.h"
#include "detectors/group.h"

/* Each detector file exports exactly one symbol: its type. Keep both lists
 * sorted by name. */
extern const struct detector_type det_des;
extern const struct detector_type det_ensemble;
extern const struct detector_type det_gaussian;
extern const struct detector_type det_holtwinters;
extern const struct detector_type det_mad;
extern const struct detector_type det_orpca;
extern const struct detector_type det_rad;
extern const struct detector_type det_sdes;

static const struct detector_type *const detector_types[] = {
	&det_des, &det_ensemble, &det_gaussian, &det_holtwinters, &det_mad, &det_orpca,
	&det_rad, &det_sdes,     NULL,
};

/* The engine's best general-purpose detector (used when a rule or
 * `vigil detect` names none). */
static const char default_detector[] = "ensemble";

#define STATE_MAGIC 0x56474453u /* "VGDS" */

const struct detector_type *det_find(const char *name)
{
	for (size_t i = 0; detector_types[i]; i++)
		if (strcmp(detector_types[i]->name, name) == 0)
			return detector_types[i];
	return NULL;
}

const struct detector_type *const *det_all(void)
{
	return detector_types;
}

const char *det_default_name(void)
{
	return default_detector;
}

int det_new_of(const struct detector_type *t, const struct kv *set, size_t nset, struct detector *out,
	       char *err, size_t errlen)
{
	void *cfg = calloc(1, t->config_size ? t->config_size : 1);
	int rc;

	if (cfg == NULL) {
		snprintf(err, errlen, "out of memory");
		return -VIGIL_ENOMEM;
	}
	rc = params_apply(t->params, cfg, set, nset, err, errlen);
	if (rc == 0 && t->config_check)
		rc = t->config_check(cfg, err, errlen);
	if (rc != 0) {
		free(cfg);
		return rc;
	}
	out->type = t;
	out->cfg = cfg;
	return 0;
}

int det_new(const char *type_name, const struct kv *set, size_t nset, struct detector *out, char *err,
	    size_t errlen)
{
	const struct detector_type *t = det_find(type_name);

	if (t == NULL) {
		size_t n = (size_t)snprintf(err, errlen, "unknown detector '%s' (known:", type_name);
		for (size_t i = 0; detector_types[i] && n < errlen; i++)
			n += (size_t)snprintf(err + n, errlen - n, " %s", detector_types[i]->name);
		if (n < errlen)
			snprintf(err + n, errlen - n, ")");
		return -VIGIL_ENOENT;
	}
	return det_new_of(t, set, nset, out, err, errlen);
}

void det_free(struct detector *d)
{
	if (d == NULL)
		return;
	free(d->cfg);
	d->cfg = NULL;
	d->type = NULL;
}

size_t det_state_size(const struct detector *d)
{
	return d->type->state_size(d->cfg);
}

int det_state_init(const struct detector *d, void *state)
{
	memset(state, 0, det_state_size(d));
	return d->type->init(d->cfg, state);
}

void det_state_fini(const struct detector *d, void *state)
{
	if (d->type->fini)
		d->type->fini(d->cfg, state);
}

int det_state_save(const struct detector *d, const void *state, struct buf *out)
{
	size_t at;
	uint32_t body;
	int rc = 0;

	buf_put_u32(out, STATE_MAGIC);
	buf_put_u32(out, d->type->state_version);
	buf_put_str(out, d->type->name);
	at = out->len;
	buf_put_u32(out, 0); /* body length, patched below */
	if (d->type->save)
		rc = d->type->save(d->cfg, state, out);
	else
		buf_put(out, state, det_state_size(d));
	if (rc != 0)
		return rc;
	if (!buf_ok(out))
		return -VIGIL_ENOMEM;
	body = (uint32_t)(out->len - at - sizeof(uint32_t));
	memcpy(out->data + at, &body, sizeof body);
	return 0;
}

int det_state_load(const struct detector *d, void *state, const uint8_t *data, size_t len)
{
	struct reader r = reader_of(data, len);
	uint32_t magic = rd_u32(&r), version = rd_u32(&r), nlen = rd_u32(&r), body;
	char name[64];
	int rc;

	if (!reader_ok(&r) || magic != STATE_MAGIC || nlen >= sizeof name)
		goto bad;
	rd_get(&r, name, nlen);
	name[nlen] = '\0';
	body = rd_u32(&r);
	if (!reader_ok(&r) || strcmp(name, d->type->name) != 0 || body != r.left)
		goto bad;
	if (version != d->type->state_version) {
		det_state_init(d, state);
		return -VIGIL_EVERSION;
	}
	memset(state, 0, det_state_size(d));
	if (d->type->load) {
		rc = d->type->load(d->cfg, state, r.p, r.left);
	} else if (r.left == det_state_size(d)) {
		memcpy(state, r.p, r.left);
		rc = d->type->valid && !d->type->valid(d->cfg, state) ? -VIGIL_EINVAL : 0;
	} else {
		rc = -VIGIL_EINVAL;
	}
	if (rc != 0) {
		det_state_fini(d, state);
		det_state_init(d, state);
	}
	return rc;
bad:
	det_state_init(d, state);
	return -VIGIL_EINVAL;
}

void det_print_help(FILE *f)
{
	fprintf(f, "Detectors (default: %s):\n", default_detector);
	for (size_t i = 0; detector_types[i]; i++) {
		const struct detector_type *t = detector_types[i];
		fprintf(f, "  %-14s %s\n", t->name, t->summary);
		params_print_help(f, t->params);
	}
	fprintf(f, "\nPeer-group detectors (rules with `peer_group:`; one model per group of series):\n");
	for (const struct group_type *const *g = group_all(); *g; g++) {
		fprintf(f, "  %-14s %s\n", (*g)->det.name, (*g)->det.summary);
		params_print_help(f, (*g)->det.params);
	}
}
