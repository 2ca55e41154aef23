/* kafka_consumer_close_destroy (core/kafka_close.c), the workaround for
 * librdkafka bug 4312: the version gate, a group-less consumer (assign
 * only) always destroyed, a subscribed consumer destroyed once a rebalance
 * callback noted an assignment, and kept (not destroyed) on an affected
 * library when it never was. No broker: the clients point at a closed port.
 * The half-joined case itself (the abort) needs a group coordinator:
 * tests/e2e_kafka_join_term.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/kafka.h"

static rd_kafka_t *consumer(const char *group)
{
	char err[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", "127.0.0.1:1", err, sizeof err),
			 RD_KAFKA_CONF_OK);
	assert_int_equal(rd_kafka_conf_set(conf, "group.id", group, err, sizeof err), RD_KAFKA_CONF_OK);
	assert_int_equal(rd_kafka_conf_set(conf, "partition.assignment.strategy", "cooperative-sticky", err,
					   sizeof err),
			 RD_KAFKA_CONF_OK);
	assert_int_equal(rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err), RD_KAFKA_CONF_OK);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
	assert_non_null(rk);
	rd_kafka_poll_set_consumer(rk);
	return rk;
}

static void subscribe(rd_kafka_t *rk)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, "metrics", RD_KAFKA_PARTITION_UA);
	assert_int_equal(rd_kafka_subscribe(rk, l), 0);
	rd_kafka_topic_partition_list_destroy(l);
}

static void test_kafka_close__version_gate(void **state)
{
	(void)state;
	assert_true(kafka_close_affected(0x020002ff));  /* 2.0.2, Debian 12 */
	assert_true(kafka_close_affected(0x020200ff));  /* 2.2.0 */
	assert_false(kafka_close_affected(0x020300ff)); /* 2.3.0: PR 4381 */
	assert_false(kafka_close_affected(0x020a00ff));
}

static void test_kafka_close__groupless_destroyed(void **state)
{
	(void)state;
	rd_kafka_t *rk = consumer("kc-assign-only");
	assert_int_equal(kafka_consumer_close_destroy(rk, "reader"), 0);
	assert_int_equal(kafka_consumer_close_destroy(NULL, "none"), 0);
}

static void test_kafka_close__assigned_destroyed(void **state)
{
	(void)state;
	rd_kafka_t *rk = consumer("kc-assigned");
	subscribe(rk);
	kafka_group_note(rk, RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS); /* not an assignment */
	kafka_group_note(rk, RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS);
	assert_int_equal(kafka_consumer_close_destroy(rk, "consumer"), 0);
}

static void test_kafka_close__never_assigned(void **state)
{
	(void)state;
	rd_kafka_t *rk = consumer("kc-never");
	subscribe(rk);
	kafka_group_note(rk, RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS);
	int kept = kafka_consumer_close_destroy(rk, "consumer");
	assert_int_equal(kept, kafka_close_affected(rd_kafka_version()) ? 1 : 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kafka_close__version_gate),
		cmocka_unit_test(test_kafka_close__groupless_destroyed),
		cmocka_unit_test(test_kafka_close__assigned_destroyed),
		cmocka_unit_test(test_kafka_close__never_assigned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
