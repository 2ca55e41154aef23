/* collectd JSON as written by write_http / write_kafka (Format JSON): an
 * array of value lists
 *   {"values":[..],"dstypes":["gauge"|"derive"|"counter"|"absolute"],
 *    "dsnames":[..],"time":1700000000.123,"interval":10.0,"host":"h",
 *    "plugin":"cpu","plugin_instance":"0","type":"percent","type_instance":"idle"}
 * One point per value, named "plugin.type" plus ".dsname" when there are
 * several data sources or the only one is not called "value"; tags host,
 * plugin_instance and type_instance when non-empty. gauge: as is (null is
 * skipped). The message does not say whether collectd converted counters
 * (its StoreRates setting: dstypes keep "derive"/"counter" either way), so
 * the stream is told (decoder_opts.collectd_raw). StoreRates true (default
 * here, as write_kafka's): counter/derive/absolute values are per-second
 * rates, taken as they are (any finite number; null skipped). StoreRates
 * false (raw): they must be integers, else the record is rejected naming the
 * setting; counter/derive: per-second rate against the previous raw value of
 * the same data source (first sample emits nothing; 32/64-bit counter wrap
 * handled; derive may go negative; a sample not newer than the stored one is
 * skipped); absolute: value / interval. The whole record is validated before
 * any counter state changes or any point is emitted. At most CD_MAX_SERIES
 * counter/derive data sources are tracked per stream; a record bringing a new
 * one beyond that fails with -VIGIL_ELIMIT. Counters above 2^63 make jansson
 * read the record's integers as doubles (exact up to 2^53). */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumers/decoder.h"
#include "core/hash.h"
#include "core/timefmt.h"

#define CD_MAX_SERIES (1u << 20) /* counter/derive states kept per stream */

enum ds_kind { DS_GAUGE, DS_DERIVE, DS_COUNTER, DS_ABSOLUTE };

struct ctr {
	struct ctr *next;
	uint64_t hash;
	size_t klen;
	int has_prev;
	uint64_t raw; /* counter: value; derive: int64 bits */
	double t;
	char key[]; /* host\0plugin\0plugin_instance\0type\0type_instance\0dsname */
};

struct item {
	json_t *vl;     /* the value list (borrowed from the parsed record) */
	json_t *dsname; /* borrowed */
	int multi;      /* several data sources: append ".dsname" */
	enum ds_kind kind;
	uint64_t raw; /* counter/absolute: unsigned; derive: int64 bits */
	double gauge; /* gauge value */
	double ts, interval;
	struct ctr *state; /* counter/derive */
	int emit;          /* after phase 2: emit out */
	double out;
};

struct collectd {
	int raw; /* 1: raw counters (StoreRates false); 0: rates */
	struct ctr **tab;
	size_t nbuckets, count;
	struct item *items;
	size_t icap;
	char *kbuf;
	size_t kcap;
	char name[POINT_MAX_NAME + 1];
};

static int collectd_sniff(const char *rec, size_t len)
{
	size_t i = 0;

	while (i < len && (rec[i] == ' ' || rec[i] == '\t'))
		i++;
	return i < len && rec[i] == '[';
}

static int collectd_create(const struct decoder_opts *o, void **priv)
{
	struct collectd *c = calloc(1, sizeof *c);

	*priv = NULL;
	if (c == NULL)
		goto fail;
	c->raw = o != NULL && o->collectd_raw;
	c->nbuckets = 64;
	c->tab = calloc(c->nbuckets, sizeof *c->tab);
	if (c->tab == NULL)
		goto fail;
	*priv = c;
	return 0;
fail:
	free(c);
	return -VIGIL_ENOMEM;
}

static void collectd_destroy(void *priv)
{
	struct collectd *c = priv;

	if (c == NULL)
		return;
	for (size_t b = 0; c->tab != NULL && b < c->nbuckets; b++) {
		struct ctr *e = c->tab[b];
		while (e != NULL) {
			struct ctr *nx = e->next;
			free(e);
			e = nx;
		}
	}
	free(c->tab);
	free(c->items);
	free(c->kbuf);
	free(c);
}

/* Double the bucket array; on allocation failure keep the old one. */
static void grow_table(struct collectd *c)
{
	size_t nb = c->nbuckets * 2;
	struct ctr **nt = calloc(nb, sizeof *nt);

	if (nt == NULL)
		return;
	for (size_t b = 0; b < c->nbuckets; b++) {
		struct ctr *e = c->tab[b];
		while (e != NULL) {
			struct ctr *nx = e->next;
			size_t i = (size_t)(e->hash & (nb - 1));
			e->next = nt[i];
			nt[i] = e;
			e = nx;
		}
	}
	free(c->tab);
	c->tab = nt;
	c->nbuckets = nb;
}

/* Find or insert the state for key[0..klen). Returns NULL with *rc set. */
static struct ctr *ctr_get(struct collectd *c, const char *key, size_t klen, int *rc)
{
	uint64_t h = hash_mix(hash_bytes(HASH_SEED, key, klen));
	size_t i = (size_t)(h & (c->nbuckets - 1));
	struct ctr *e;

	for (e = c->tab[i]; e != NULL; e = e->next)
		if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
			return e;
	if (c->count >= CD_MAX_SERIES) {
		*rc = -VIGIL_ELIMIT;
		return NULL;
	}
	e = calloc(1, sizeof *e + klen);
	if (e == NULL) {
		*rc = -VIGIL_ENOMEM;
		return NULL;
	}
	e->hash = h;
	e->klen = klen;
	memcpy(e->key, key, klen);
	e->next = c->tab[i];
	c->tab[i] = e;
	c->count++;
	if (c->count > c->nbuckets - c->nbuckets / 4)
		grow_table(c);
	return e;
}

/* Optional string member: NULL if absent, "" if JSON null; -1 if not a string. */
static int opt_str(json_t *o, const char *k, const char **out)
{
	json_t *v = json_object_get(o, k);

	*out = "";
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = json_string_value(v);
	return 0;
}

/* Raw counter/absolute (unsigned) or derive (signed) value. */
static int raw_value(json_t *v, enum ds_kind kind, uint64_t *out)
{
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (kind != DS_DERIVE && i < 0)
			return -1;
		*out = (uint64_t)i;
		return 0;
	}
	if (json_is_real(v)) {
		double r = json_real_value(v);
		if (!isfinite(r) || floor(r) < r || floor(r) > r)
			return -1;
		if (kind == DS_DERIVE) {
			if (r < -9223372036854775808.0 || r >= 9223372036854775808.0)
				return -1;
			*out = (uint64_t)(int64_t)r;
		} else {
			if (r < 0.0 || r >= 18446744073709551616.0)
				return -1;
			*out = (uint64_t)r;
		}
		return 0;
	}
	return -1;
}

static int add_key_part(struct collectd *c, size_t *used, const char *s)
{
	size_t n = strlen(s) + 1;

	if (c->kcap < *used + n) {
		size_t ncap = (*used + n) * 2;
		char *nb = realloc(c->kbuf, ncap);
		if (nb == NULL)
			return -VIGIL_ENOMEM;
		c->kbuf = nb;
		c->kcap = ncap;
	}
	memcpy(c->kbuf + *used, s, n);
	*used += n;
	return 0;
}

#define FAIL(...)                                                                                            \
	do {                                                                                                 \
		snprintf(err, errlen, __VA_ARGS__);                                                          \
		goto out;                                                                                    \
	} while (0)

static int collectd_decode(void *priv, const char *rec, size_t len, point_emit_fn emit, void *ctx, char *err,
			   size_t errlen)
{
	struct collectd *c = priv;
	json_error_t jerr;
	json_t *root;
	size_t ni = 0, e;
	int rc = -VIGIL_EINVAL;

	if (c == NULL) {
		snprintf(err, errlen, "column 1: collectd decoder has no state");
		return -VIGIL_EINVAL;
	}
	root = json_loadb(rec, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL && json_error_code(&jerr) == json_error_numeric_overflow)
		root = json_loadb(rec, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "column %d: %s", jerr.position > 0 ? jerr.position : 1, jerr.text);
		return -VIGIL_EINVAL;
	}
	if (!json_is_array(root))
		FAIL("column 1: expected a JSON array of collectd value lists");

	/* Phase 1: validate everything, collect the values. */
	for (e = 0; e < json_array_size(root); e++) {
		json_t *vl = json_array_get(root, e);
		json_t *values, *dstypes, *dsnames, *jt, *jiv;
		const char *host, *plugin, *pinst, *type, *tinst;
		double ts, interval = NAN;
		size_t nv;

		if (!json_is_object(vl))
			FAIL("column 1: element %zu: expected an object", e + 1);
		values = json_object_get(vl, "values");
		dstypes = json_object_get(vl, "dstypes");
		dsnames = json_object_get(vl, "dsnames");
		if (!json_is_array(values) || !json_is_array(dstypes) || !json_is_array(dsnames))
			FAIL("column 1: element %zu: \"values\", \"dstypes\" and \"dsnames\" must be arrays",
			     e + 1);
		nv = json_array_size(values);
		if (json_array_size(dstypes) != nv || json_array_size(dsnames) != nv)
			FAIL("column 1: element %zu: values/dstypes/dsnames lengths differ (%zu/%zu/%zu)",
			     e + 1, nv, json_array_size(dstypes), json_array_size(dsnames));
		jt = json_object_get(vl, "time");
		if (!json_is_number(jt) || !isfinite(ts = time_from_epoch_number(json_number_value(jt))))
			FAIL("column 1: element %zu: \"time\" must be a number", e + 1);
		jiv = json_object_get(vl, "interval");
		if (jiv != NULL && !json_is_null(jiv)) {
			interval = json_is_number(jiv) ? json_number_value(jiv) : NAN;
			if (!(interval > 0.0) || !isfinite(interval))
				FAIL("column 1: element %zu: \"interval\" must be a positive number", e + 1);
		}
		if (opt_str(vl, "host", &host) || opt_str(vl, "plugin", &plugin) ||
		    opt_str(vl, "plugin_instance", &pinst) || opt_str(vl, "type", &type) ||
		    opt_str(vl, "type_instance", &tinst))
			FAIL("column 1: element %zu: host/plugin/plugin_instance/type/type_instance must be "
			     "strings",
			     e + 1);
		if (plugin[0] == '\0' || type[0] == '\0')
			FAIL("column 1: element %zu: missing \"plugin\" or \"type\"", e + 1);

		for (size_t v = 0; v < nv; v++) {
			json_t *jv = json_array_get(values, v);
			json_t *jtype = json_array_get(dstypes, v);
			json_t *jname = json_array_get(dsnames, v);
			const char *dt = json_string_value(jtype), *dn = json_string_value(jname);
			struct item it;
			size_t nlen;

			memset(&it, 0, sizeof it);
			if (dt == NULL)
				FAIL("column 1: element %zu: dstypes[%zu] must be a string", e + 1, v);
			if (strcmp(dt, "gauge") == 0)
				it.kind = DS_GAUGE;
			else if (strcmp(dt, "derive") == 0)
				it.kind = DS_DERIVE;
			else if (strcmp(dt, "counter") == 0)
				it.kind = DS_COUNTER;
			else if (strcmp(dt, "absolute") == 0)
				it.kind = DS_ABSOLUTE;
			else
				FAIL("column 1: element %zu: unknown dstype \"%.32s\"", e + 1, dt);
			if (dn == NULL || dn[0] == '\0')
				FAIL("column 1: element %zu: dsnames[%zu] must be a non-empty string", e + 1,
				     v);
			it.multi = nv > 1 || strcmp(dn, "value") != 0;
			nlen = strlen(plugin) + 1 + strlen(type) + (it.multi ? 1 + strlen(dn) : 0);
			if (nlen > POINT_MAX_NAME)
				FAIL("column 1: element %zu: series name longer than %d bytes", e + 1,
				     POINT_MAX_NAME);
			if (json_is_null(jv))
				continue; /* collectd writes NaN as null */
			if (it.kind == DS_GAUGE || !c->raw) {
				if (!json_is_number(jv) || !isfinite(it.gauge = json_number_value(jv)))
					FAIL("column 1: element %zu: values[%zu] must be a finite number",
					     e + 1, v);
				if (it.kind != DS_GAUGE) /* StoreRates true: already a rate */
					it.kind = DS_GAUGE;
			} else if (raw_value(jv, it.kind, &it.raw) != 0) {
				FAIL("column 1: element %zu: values[%zu] (%s) must be an integer%s: the "
				     "input "
				     "setting collectd.store_rates is false (raw counters); if collectd "
				     "sends "
				     "rates (StoreRates true, write_kafka's default) set store_rates: true",
				     e + 1, v, dt, it.kind == DS_DERIVE ? "" : " >= 0");
			}
			if (it.kind == DS_ABSOLUTE && isnan(interval))
				FAIL("column 1: element %zu: absolute values need \"interval\"", e + 1);
			it.vl = vl;
			it.dsname = jname;
			it.ts = ts;
			it.interval = interval;
			if (ni == c->icap) {
				size_t ncap = c->icap ? 2 * c->icap : 16;
				struct item *nit = realloc(c->items, ncap * sizeof *nit);
				if (nit == NULL) {
					rc = -VIGIL_ENOMEM;
					FAIL("column 1: out of memory");
				}
				c->items = nit;
				c->icap = ncap;
			}
			c->items[ni++] = it;
		}
	}

	/* Phase 1b: find or create the counter states (only empty states are
	 * created here, so a failure leaves no sample recorded). */
	for (size_t i = 0; i < ni; i++) {
		struct item *it = &c->items[i];
		const char *parts[6];
		size_t used = 0;
		int r = 0;

		if (it->kind != DS_COUNTER && it->kind != DS_DERIVE)
			continue;
		opt_str(it->vl, "host", &parts[0]);
		opt_str(it->vl, "plugin", &parts[1]);
		opt_str(it->vl, "plugin_instance", &parts[2]);
		opt_str(it->vl, "type", &parts[3]);
		opt_str(it->vl, "type_instance", &parts[4]);
		parts[5] = json_string_value(it->dsname);
		for (int k = 0; k < 6 && r == 0; k++)
			r = add_key_part(c, &used, parts[k]);
		if (r == 0 && (it->state = ctr_get(c, c->kbuf, used, &r)) == NULL && r == 0)
			r = -VIGIL_ENOMEM;
		if (r != 0) {
			rc = r;
			FAIL("column 1: %s",
			     r == -VIGIL_ELIMIT ? "too many counter series in this stream" : "out of memory");
		}
	}

	/* Phase 2: rates, in record order (a record may carry several samples
	 * of one data source). */
	for (size_t i = 0; i < ni; i++) {
		struct item *it = &c->items[i];
		struct ctr *s = it->state;

		switch (it->kind) {
		case DS_GAUGE:
			it->out = it->gauge;
			it->emit = 1;
			break;
		case DS_ABSOLUTE:
			it->out = (double)it->raw / it->interval;
			it->emit = 1;
			break;
		case DS_COUNTER:
		case DS_DERIVE:
			if (s->has_prev && !(it->ts > s->t))
				break; /* not newer: keep the stored sample */
			if (s->has_prev) {
				double dt = it->ts - s->t, delta;
				if (it->kind == DS_DERIVE) {
					delta = (double)(int64_t)(it->raw - s->raw);
				} else if (it->raw >= s->raw) {
					delta = (double)(it->raw - s->raw);
				} else if (s->raw <= UINT32_MAX) {
					/* 32-bit counter wrapped */
					delta = (double)((UINT32_MAX - s->raw) + it->raw + 1);
				} else {
					/* 64-bit wrap: modular difference */
					delta = (double)(it->raw - s->raw);
				}
				it->out = delta / dt;
				it->emit = isfinite(it->out);
			}
			s->has_prev = 1;
			s->raw = it->raw;
			s->t = it->ts;
			break;
		}
	}

	/* Phase 3: emit. */
	rc = 0;
	for (size_t i = 0; i < ni && rc == 0; i++) {
		struct item *it = &c->items[i];
		const char *host, *plugin, *pinst, *type, *tinst;
		struct point p;

		if (!it->emit)
			continue;
		opt_str(it->vl, "host", &host);
		opt_str(it->vl, "plugin", &plugin);
		opt_str(it->vl, "plugin_instance", &pinst);
		opt_str(it->vl, "type", &type);
		opt_str(it->vl, "type_instance", &tinst);
		if (it->multi)
			snprintf(c->name, sizeof c->name, "%s.%s.%s", plugin, type,
				 json_string_value(it->dsname));
		else
			snprintf(c->name, sizeof c->name, "%s.%s", plugin, type);
		memset(&p, 0, sizeof p);
		p.name = c->name;
		p.ts = it->ts;
		p.value = it->out;
		if (host[0] != '\0')
			p.tags[p.ntags++] = (struct tag){"host", host};
		if (pinst[0] != '\0')
			p.tags[p.ntags++] = (struct tag){"plugin_instance", pinst};
		if (tinst[0] != '\0')
			p.tags[p.ntags++] = (struct tag){"type_instance", tinst};
		rc = emit(ctx, &p);
	}
out:
	json_decref(root);
	return rc;
}

const struct decoder_type dec_collectd = {
	.name = "collectd",
	.summary = "collectd JSON (write_http/write_kafka Format JSON); counters become rates",
	.sniff = collectd_sniff,
	.create = collectd_create,
	.destroy = collectd_destroy,
	.decode = collectd_decode,
};
