/* The group detector registry and helpers, see group.h. Adding a group
 * detector = one file in detectors/ + one line in group_types[]. */
#include "detectors/group.h"

#include <stdlib.h>
#include <string.h>

extern const struct group_type grp_peerpca;

static const struct group_type *const group_types[] = {
	&grp_peerpca,
	NULL,
};

#define GROUP_MAGIC 0x56474753u /* "VGGS" */

const struct group_type *group_of(const struct detector_type *t)
{
	for (size_t i = 0; t && group_types[i]; i++)
		if (&group_types[i]->det == t)
			return group_types[i];
	return NULL;
}

const struct group_type *group_find(const char *name)
{
	for (size_t i = 0; group_types[i]; i++)
		if (strcmp(group_types[i]->det.name, name) == 0)
			return group_types[i];
	return NULL;
}

const struct group_type *const *group_all(void)
{
	return group_types;
}

int group_det_new(const char *name, const struct kv *set, size_t nset, struct detector *out, char *err,
		  size_t errlen)
{
	const struct group_type *g = group_find(name);

	if (g == NULL) {
		snprintf(err, errlen, "unknown group detector '%s'", name);
		return -VIGIL_ENOENT;
	}
	return det_new_of(&g->det, set, nset, out, err, errlen);
}

int group_state_save(const struct group_type *g, const void *cfg, const void *state, struct buf *out)
{
	size_t at;
	uint32_t body;
	int rc;

	buf_put_u32(out, GROUP_MAGIC);
	buf_put_u32(out, g->det.state_version);
	buf_put_str(out, g->det.name);
	at = out->len;
	buf_put_u32(out, 0); /* body length, patched below */
	if ((rc = g->save(cfg, state, out)) != 0)
		return rc;
	if (!buf_ok(out))
		return -VIGIL_ENOMEM;
	body = (uint32_t)(out->len - at - sizeof(uint32_t));
	memcpy(out->data + at, &body, sizeof body);
	return 0;
}

int group_state_load(const struct group_type *g, const void *cfg, void *state, const uint8_t *data,
		     size_t len)
{
	struct reader r = reader_of(data, len);
	uint32_t magic = rd_u32(&r), version = rd_u32(&r), nlen = rd_u32(&r), body;
	size_t size = g->state_size(cfg);
	char name[64];
	int rc = -VIGIL_EINVAL;

	if (!reader_ok(&r) || magic != GROUP_MAGIC || nlen >= sizeof name)
		goto fresh;
	rd_get(&r, name, nlen);
	name[nlen] = '\0';
	body = rd_u32(&r);
	if (!reader_ok(&r) || strcmp(name, g->det.name) != 0 || body != r.left)
		goto fresh;
	if (version != g->det.state_version) {
		rc = -VIGIL_EVERSION;
		goto fresh;
	}
	memset(state, 0, size);
	if ((rc = g->load(cfg, state, r.p, r.left)) == 0)
		return 0;
fresh:
	memset(state, 0, size);
	g->init(cfg, state);
	return rc;
}
