/* See gateway_control.h. */
#include "consumers/gateway_control.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"

#define COMP "kafka"

#define CATCHUP_TIMEOUT_MS 10000

/* One taken-over control partition: the next offset to apply, the one the
 * newest durable snapshot holds (-1: none), and whether the consumer has it
 * in its assignment yet (gwctl_follow). */
struct cpart {
	int32_t part;
	int64_t next, saved;
	int followed;
};

struct gwctl {
	const struct kafka_cfg *cfg;
	struct gateway *gw;
	struct kafka_counters *ctr;
	rd_kafka_t *rk; /* group-less: assigned the control partitions of the owned alerts partitions */
	struct cpart *parts;
	size_t nparts, cap;
	uint64_t applied; /* since the last gateway flush */
	struct complain bad_complain;
};

static struct cpart *cpart_find(const struct gwctl *x, int32_t part)
{
	for (size_t i = 0; i < x->nparts; i++)
		if (x->parts[i].part == part)
			return &x->parts[i];
	return NULL;
}

/* Log and free an assignment error of the control consumer. */
static void assign_error(struct gwctl *x, const char *what, rd_kafka_error_t *e)
{
	if (e == NULL)
		return;
	LOG_ERR(COMP, "event=control_assign_failed topic=%s what=%s err=\"%s\"", x->cfg->control_topic, what,
		rd_kafka_error_string(e));
	rd_kafka_error_destroy(e);
}

static void control_bad(struct gwctl *x, const rd_kafka_message_t *m, const char *why)
{
	x->ctr->gw_control_bad++;
	if (complain_due(&x->bad_complain, clock_mono(), 10, 5))
		LOG_WARN(COMP,
			 "event=control_rejected topic=%s partition=%" PRId32 " offset=%" PRId64
			 " err=\"%s\": skipped",
			 x->cfg->control_topic, m->partition, m->offset, why);
}

/* The owner a command is about, for the log line. */
static const char *cmd_owner(json_t *cmd)
{
	const char *o = json_string_value(json_object_get(cmd, "owner"));
	if (o == NULL)
		o = json_string_value(json_object_get(json_object_get(cmd, "silence"), "owner"));
	return o ? o : "-";
}

/* Apply one record of a followed partition, once: records below the
 * partition's next offset were applied already. */
static void apply(struct gwctl *x, const rd_kafka_message_t *m)
{
	char err[512];
	json_error_t je;
	json_t *reply = NULL;

	if (m->err) {
		if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
			LOG_WARN(COMP, "event=control_consume_error topic=%s err=\"%s\"",
				 x->cfg->control_topic, rd_kafka_message_errstr(m));
		return;
	}
	if (m->rkt == NULL || strcmp(rd_kafka_topic_name(m->rkt), x->cfg->control_topic) != 0)
		return;
	struct cpart *cp = cpart_find(x, m->partition);
	if (cp == NULL || (cp->next >= 0 && m->offset < cp->next))
		return; /* not followed (any more), or applied already */
	cp->next = m->offset + 1;
	json_t *cmd = m->payload ? json_loadb(m->payload, m->len, 0, &je) : NULL;
	if (cmd == NULL || !json_is_object(cmd)) {
		snprintf(err, sizeof err, "not a JSON object%s%s", cmd ? "" : ": ",
			 cmd ? "" : (m->payload ? je.text : "empty record"));
		json_decref(cmd);
		control_bad(x, m, err);
		return;
	}
	if (gateway_control(x->gw, cmd, m->partition, &reply, err, sizeof err) != 0) {
		control_bad(x, m, err);
	} else {
		x->ctr->gw_control_applied++;
		x->applied++;
		const char *id = json_string_value(json_object_get(reply, "id"));
		LOG_INFO(COMP,
			 "event=control_applied topic=%s partition=%" PRId32 " offset=%" PRId64
			 " op=%s owner=%s%s%s",
			 x->cfg->control_topic, m->partition, m->offset,
			 json_string_value(json_object_get(cmd, "op")), cmd_owner(cmd), id ? " id=" : "",
			 id ? id : "");
	}
	json_decref(reply);
	json_decref(cmd);
}

static void scan_one(void *ctx, const rd_kafka_message_t *m)
{
	apply(ctx, m);
}

int gwctl_open(const struct kafka_cfg *c, struct gateway *gw, rd_kafka_t *meta, struct kafka_counters *ctr,
	       struct gwctl **out)
{
	int32_t na = 0, nc = 0;
	int rc;

	*out = NULL;
	for (int tries = 0; (rc = kafka_partition_count(meta, c->alerts_topic, 5000, &na)) != 0 ||
			    (rc = kafka_partition_count(meta, c->control_topic, 5000, &nc)) != 0;
	     tries++) {
		if (tries >= 5) {
			LOG_ERR(COMP,
				"event=startup_failed err=\"cannot read the partition counts of the alerts "
				"topic %s "
				"and the control topic %s\"",
				c->alerts_topic, c->control_topic);
			return -VIGIL_EIO;
		}
	}
	if (na != nc) {
		LOG_ERR(COMP,
			"event=startup_failed err=\"the control topic %s has %" PRId32
			" partitions and the alerts topic %s has %" PRId32
			": they must have the same count (control partition P carries the commands for the "
			"owners of alerts partition P)\"",
			c->control_topic, nc, c->alerts_topic, na);
		return -VIGIL_EINVAL;
	}
	struct gwctl *x = calloc(1, sizeof *x);
	if (x == NULL)
		return -VIGIL_ENOMEM;
	x->cfg = c;
	x->gw = gw;
	x->ctr = ctr;
	if ((rc = kafka_client(c, "control", RD_KAFKA_CONSUMER, x, NULL, NULL, &x->rk)) != 0) {
		free(x);
		return rc;
	}
	LOG_INFO(COMP, "event=control_started topic=%s partitions=%" PRId32, c->control_topic, nc);
	*out = x;
	return 0;
}

void gwctl_assign(struct gwctl *x, rd_kafka_t *reader, int32_t part, int64_t from)
{
	double t0 = clock_mono();
	int truncated = 0;

	if (x == NULL)
		return;
	uint64_t before = x->ctr->gw_control_applied + x->ctr->gw_control_bad;
	struct cpart *cp = cpart_find(x, part);
	if (cp == NULL) {
		if (vec_reserve((void **)&x->parts, &x->cap, x->nparts + 1, sizeof *x->parts) != 0) {
			LOG_ERR(COMP,
				"event=control_assign_failed topic=%s partition=%" PRId32
				" err=\"out of memory\": its control commands are not applied here",
				x->cfg->control_topic, part);
			return;
		}
		cp = &x->parts[x->nparts++];
	}
	*cp = (struct cpart){part, from >= 0 ? from : -1, from >= 0 ? from : -1, 0};
	int rc = kafka_scan_partition(reader, x->cfg->control_topic, part, cp->next, CATCHUP_TIMEOUT_MS, NULL,
				      scan_one, x, &truncated);
	if (rc != 0)
		LOG_ERR(COMP,
			"event=control_catchup_failed topic=%s partition=%" PRId32 " next=%" PRId64
			" err=\"%s\": the consumer continues from there",
			x->cfg->control_topic, part, cp->next, vigil_strerror(rc));
	if (truncated)
		LOG_ERR(COMP,
			"event=control_truncated topic=%s partition=%" PRId32 " from=%" PRId64
			": control records after the snapshot were removed by retention before they were "
			"applied",
			x->cfg->control_topic, part, from);
	if (x->applied)
		gateway_flush(x->gw);
	x->applied = 0;
	LOG_INFO(COMP,
		 "event=control_assigned topic=%s partition=%" PRId32 " from=%" PRId64 " next=%" PRId64
		 " replayed=%" PRIu64 " ms=%.1f",
		 x->cfg->control_topic, part, from, cp->next,
		 x->ctr->gw_control_applied + x->ctr->gw_control_bad - before, (clock_mono() - t0) * 1e3);
}

/* Assignment changes are made once per rebalance event, with the
 * incremental calls, so a partition is never removed and re-added by a
 * change it is not part of (librdkafka 2.0.2 can assert on a partition
 * stopped twice when assignments change in quick succession, #5573). */
void gwctl_follow(struct gwctl *x)
{
	if (x == NULL)
		return;
	rd_kafka_topic_partition_list_t *l =
		rd_kafka_topic_partition_list_new((int)(x->nparts ? x->nparts : 1));
	if (l == NULL) {
		LOG_ERR(COMP, "event=control_assign_failed topic=%s err=\"out of memory\"",
			x->cfg->control_topic);
		return;
	}
	for (size_t i = 0; i < x->nparts; i++)
		if (!x->parts[i].followed)
			rd_kafka_topic_partition_list_add(l, x->cfg->control_topic, x->parts[i].part)
				->offset =
				x->parts[i].next >= 0 ? x->parts[i].next : RD_KAFKA_OFFSET_BEGINNING;
	if (l->cnt > 0) {
		rd_kafka_error_t *e = rd_kafka_incremental_assign(x->rk, l);
		if (e == NULL)
			for (size_t i = 0; i < x->nparts; i++)
				x->parts[i].followed = 1;
		assign_error(x, "assign", e);
	}
	rd_kafka_topic_partition_list_destroy(l);
}

void gwctl_revoke(struct gwctl *x, const rd_kafka_topic_partition_list_t *parts)
{
	if (x == NULL)
		return;
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts->cnt ? parts->cnt : 1);
	for (int k = 0; k < parts->cnt; k++) {
		struct cpart *cp = cpart_find(x, parts->elems[k].partition);
		if (cp == NULL)
			continue;
		LOG_INFO(COMP, "event=control_revoked topic=%s partition=%" PRId32 " next=%" PRId64,
			 x->cfg->control_topic, cp->part, cp->next);
		if (cp->followed && l)
			rd_kafka_topic_partition_list_add(l, x->cfg->control_topic, cp->part);
		*cp = x->parts[--x->nparts];
	}
	if (l && l->cnt > 0)
		assign_error(x, "unassign", rd_kafka_incremental_unassign(x->rk, l));
	if (l)
		rd_kafka_topic_partition_list_destroy(l);
}

int64_t gwctl_next(const struct gwctl *x, int32_t part)
{
	const struct cpart *cp = x ? cpart_find(x, part) : NULL;
	return cp ? cp->next : -1;
}

int gwctl_dirty(const struct gwctl *x, int32_t part)
{
	const struct cpart *cp = x ? cpart_find(x, part) : NULL;
	return cp && cp->next != cp->saved;
}

void gwctl_saved(struct gwctl *x, int32_t part, int64_t next)
{
	struct cpart *cp = x ? cpart_find(x, part) : NULL;
	if (cp)
		cp->saved = next;
}

int gwctl_poll(struct gwctl *x, int max)
{
	int n = 0;
	if (x == NULL || x->nparts == 0)
		return 0;
	for (; n < max; n++) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(x->rk, 0);
		if (m == NULL)
			break;
		apply(x, m);
		rd_kafka_message_destroy(m);
	}
	if (x->applied) {
		gateway_flush(x->gw);
		x->applied = 0;
	}
	return n;
}

void gwctl_close(struct gwctl *x)
{
	if (x == NULL)
		return;
	if (x->rk) {
		kafka_consumer_close_destroy(x->rk, "control");
	}
	free(x->parts);
	free(x);
}
