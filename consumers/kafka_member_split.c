/* Split-series detection of the Kafka member (input.keyed_by: series): a
 * series whose points arrive on more than one input partition is modelled by
 * several engines (and perhaps several members), which open conflicting
 * episodes; the usual cause is a producer that does not key by series
 * (collectd's write_kafka, Telegraf's default). The member remembers, for
 * each series it has seen, the first partition it came on; a point of that
 * series on another partition counts the series once in `split_series`
 * and logs it (rate-limited) with both partitions.
 *
 * Limits: a member sees only the partitions it owns, so a series split over
 * partitions of different members is caught only by a member that owns (or
 * owned) two of them; with one member, or points spread over every
 * partition, every split series is caught. At most SPLIT_MAX_SERIES series
 * are remembered (later ones are not tracked; counted in split_untracked).
 * @thread the member's thread. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumers/kafka_member.h"
#include "core/clock.h"
#include "core/hash.h"

#define SPLIT_MAX_SERIES 2000000u

struct split_ent {
	uint64_t h;
	int32_t partition;
	uint16_t topic;   /* index in cfg->topics */
	uint8_t reported; /* counted as split already */
};

static uint64_t ent_hash(const void *ctx, uint32_t id)
{
	const struct ksplit *s = ctx;
	return s->ent[id].h;
}

/* Order-independent hash of a point's series (name and tag set): the tags
 * arrive in any order, so their hashes are summed. */
static uint64_t series_hash(const struct point *p)
{
	uint64_t h = hash_str(0x5e71e5, p->name), t = 0;
	for (int i = 0; i < p->ntags; i++)
		t += hash_mix(hash_str(hash_str(0x7a65, p->tags[i].key), p->tags[i].value));
	return hash_mix(h ^ hash_mix(t + (uint64_t)p->ntags));
}

static void series_text(const struct point *p, char *out, size_t len)
{
	size_t n = (size_t)snprintf(out, len, "%s", p->name);
	for (int i = 0; i < p->ntags && n < len; i++)
		n += (size_t)snprintf(out + n, len - n, "%s%s=%s", i ? "," : "{", p->tags[i].key,
				      p->tags[i].value);
	if (p->ntags && n < len)
		snprintf(out + n, len - n, "}");
}

void split_fini(struct ksplit *s)
{
	htab_fini(&s->index);
	free(s->ent);
	memset(s, 0, sizeof *s);
}

void split_note(struct kc *kc, const struct kpart *kp, const struct point *pt)
{
	struct ksplit *s = &kc->split;
	uint64_t h = series_hash(pt);
	uint32_t id = htab_find(&s->index, h, NULL, ent_hash, s, NULL);
	if (id == HTAB_NONE) {
		if (s->n >= SPLIT_MAX_SERIES) {
			kc->ctr->split_untracked++;
			return;
		}
		if (s->n == s->cap) {
			size_t nc = s->cap ? s->cap * 2 : 1024;
			struct split_ent *ne = realloc(s->ent, nc * sizeof *ne);
			if (ne == NULL) {
				kc->ctr->split_untracked++;
				return;
			}
			s->ent = ne;
			s->cap = nc;
		}
		s->ent[s->n] = (struct split_ent){h, kp->partition, (uint16_t)kp->topic_idx, 0};
		if (htab_insert(&s->index, h, (uint32_t)s->n, ent_hash, s) != 0) {
			kc->ctr->split_untracked++;
			return;
		}
		s->n++;
		return;
	}
	struct split_ent *e = &s->ent[id];
	if (e->reported || (e->partition == kp->partition && e->topic == kp->topic_idx))
		return;
	e->reported = 1;
	kc->ctr->split_series++;
	if (complain_due(&kc->split_complain, clock_mono(), 10, 5)) {
		char name[768];
		series_text(pt, name, sizeof name);
		LOG_WARN(COMP,
			 "event=split_series series=\"%s\" partitions=%s/%" PRId32 ",%s offset=%" PRId64
			 " total=%" PRIu64
			 " hint=\"the producer does not key by series: key each point by its series\"",
			 name, kc->cfg->topics[e->topic], e->partition, kp->source, kp->cur_offset,
			 kc->ctr->split_series);
	}
}
