/* Closing group consumers around librdkafka bug 4312 (declared in
 * core/kafka.h; see RELIABILITY.md "Consumer shutdown during a join").
 * Before 2.3.0, rd_kafka_destroy of a subscribed consumer aborts on
 * `assertion assignor_state` when its group had chosen the
 * cooperative-sticky assignor (JoinGroup answered) but no SyncGroup had yet
 * given this member an assignment. The assignor state exists once this
 * member was handed an assignment, which the rebalance callbacks report
 * with kafka_group_note. */
#include <pthread.h>
#include <string.h>

#include "core/kafka.h"
#include "core/log.h"

#define FIXED_VERSION 0x020300ff /* librdkafka 2.3.0 (PR 4381) */
#define MAX_TRACKED   32

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static rd_kafka_t *assigned_rk[MAX_TRACKED]; /* handles whose group assigned them */
/* handles closed but not destroyed: kept reachable until exit so that
 * LeakSanitizer does not count their memory as lost */
static rd_kafka_t *kept_rk[MAX_TRACKED];

static int slot_find(rd_kafka_t *const *tab, const rd_kafka_t *rk)
{
	for (int i = 0; i < MAX_TRACKED; i++)
		if (tab[i] == rk)
			return i;
	return -1;
}

static void slot_put(rd_kafka_t **tab, rd_kafka_t *rk)
{
	if (slot_find(tab, rk) < 0) {
		int i = slot_find(tab, NULL);
		if (i >= 0)
			tab[i] = rk;
	}
}

void kafka_group_note(rd_kafka_t *rk, rd_kafka_resp_err_t err)
{
	if (err != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS)
		return;
	pthread_mutex_lock(&mu);
	slot_put(assigned_rk, rk);
	pthread_mutex_unlock(&mu);
}

static int was_assigned(rd_kafka_t *rk)
{
	rd_kafka_topic_partition_list_t *l = NULL;
	pthread_mutex_lock(&mu);
	int yes = slot_find(assigned_rk, rk) >= 0;
	pthread_mutex_unlock(&mu);
	if (!yes && rd_kafka_assignment(rk, &l) == 0 && l) {
		yes = l->cnt > 0;
		rd_kafka_topic_partition_list_destroy(l);
	}
	return yes;
}

static int subscribed(rd_kafka_t *rk)
{
	rd_kafka_topic_partition_list_t *l = NULL;
	int yes = 0;
	if (rd_kafka_subscription(rk, &l) == 0 && l) {
		yes = l->cnt > 0;
		rd_kafka_topic_partition_list_destroy(l);
	}
	return yes;
}

int kafka_close_affected(int version)
{
	return version < FIXED_VERSION;
}

int kafka_consumer_close_destroy(rd_kafka_t *rk, const char *what)
{
	if (rk == NULL)
		return 0;
	int risky = kafka_close_affected(rd_kafka_version()) && subscribed(rk);
	rd_kafka_consumer_close(rk);
	pthread_mutex_lock(&mu);
	int i = slot_find(assigned_rk, rk);
	if (i >= 0)
		assigned_rk[i] = NULL;
	pthread_mutex_unlock(&mu);
	if (risky && i < 0 && !was_assigned(rk)) {
		LOG_WARN("kafka",
			 "event=consumer_destroy_skipped client=%s version=%s why=\"librdkafka bug 4312: "
			 "destroying a group consumer never assigned while its group joins aborts; "
			 "fixed in 2.3.0\"",
			 what, rd_kafka_version_str());
		pthread_mutex_lock(&mu);
		slot_put(kept_rk, rk);
		pthread_mutex_unlock(&mu);
		return 1;
	}
	rd_kafka_destroy(rk);
	return 0;
}
