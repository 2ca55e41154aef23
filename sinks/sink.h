/* Destinations: where the gateway delivers an owner's notifications. One
 * file per destination type, registered in sinks/sinks.c, configured in the
 * owners file by `type:` plus settings. A destination only sends: the
 * gateway owns policy (identity, episodes, routing, retries, backoff, dead
 * letters, ordering).
 *
 * Secrets (routing keys, webhook URLs with tokens, passwords) are given as
 * `env:NAME` or `file:PATH` (core/secret.h) and never appear in logs, in
 * errors or in sink_result.detail.
 * @thread create/check/destroy run on the gateway's thread; send and flush
 * run on the destination's delivery thread, one call at a time per instance
 * (an instance is never used by two threads at once). */
#ifndef SINKS_SINK_H
#define SINKS_SINK_H

#include <stddef.h>

#include "core/alert.h"
#include "core/config.h"
#include "core/vigil.h"

enum sink_verdict {
	SINK_OK = 0, /* delivered (e.g. HTTP 2xx) */
	SINK_RETRY,  /* not now: network error, timeout, 408, 429, 5xx */
	SINK_DROP,   /* never: the receiver refused it for good (other 4xx) */
};

/* The outcome of one send. */
struct sink_result {
	enum sink_verdict verdict;
	int status;         /* protocol status (HTTP code, SMTP reply code); 0 = none */
	double retry_after; /* seconds the receiver asked to wait (Retry-After); 0 = none */
	char detail[512];   /* error or the start of the response body, for logs and dead
			       letters; no secrets */
};

/* A group notification (docs/alerting.md §4): every alert of one group of
 * one owner's route, sent as one message to destinations that carry groups
 * (sink_type.groups). alerts[i] is marked change[i]: "new" (firing, not in
 * the previous notification), "firing" (still firing, already notified) or
 * "resolved" (resolved since the previous notification). */
struct notification_group {
	const char *key;         /* Alertmanager-style group key, stable: the receiver's dedup key */
	const char *reason;      /* "first notification" | "new alerts added" | "some alerts resolved"
				  * | "all alerts resolved" | "repeat interval elapsed" */
	const struct kv *labels; /* the group_by labels with their values */
	size_t nlabels;
	const struct alert_event *alerts;
	const char *const *change;
	const char *const *json; /* each alert's JSON form (as notification.json) */
	size_t n;
	/* alerts of the group left out of this message (the document's
	 * "truncated"; Alertmanager's truncatedAlerts) */
	size_t truncated;
};

/* A notification: one alert transition with its identity and routing, or
 * (group != NULL) one group message. ev->status ALERT_ACKNOWLEDGED means the
 * episode was acknowledged (PagerDuty: event_action "acknowledge"; a
 * receiver without the notion may ignore it and report SINK_OK).
 * Everything is borrowed for the duration of send(). */
struct notification {
	const struct alert_event *ev;
	const char *fingerprint; /* 16 hex digits: rule + series */
	const char *episode;     /* 16 hex digits: this episode */
	const char *dedup_key;   /* stable per episode, same for trigger and resolve */
	const char *owner;       /* the owner the notification is for */
	const char *json;        /* alert_to_json() rendering plus identity, one line; for a
				  * group, the whole group document (schema "vigil.group/v1") */
	size_t json_len;
	/* the same for every re-send of this notification by any gateway
	 * process (sinks/notify_ident.h): webhook-like destinations send it as
	 * the Idempotency-Key header so a receiver can drop a duplicate; may be
	 * NULL */
	const char *idem_key;
	const struct notification_group *group; /* NULL: one alert (ev); else ev = &group->alerts[0] */
};

/* What a destination may use from the process: optional services. */
struct sink_env {
	const struct kafka_cfg *kafka; /* the process's Kafka config, or NULL (replay) */
	const char *external_url;      /* base URL of this vigil for links, or NULL */
	const char *url_key;           /* resolved http.url_key: sign chart links (core/urlsig.h), or NULL */
};

struct sink_type {
	const char *name;
	const char *summary;
	/* Build an instance from settings (strings borrowed for the call).
	 * Unknown keys are an error naming kv[i].where. Caller owns *priv. */
	int (*create)(const struct sink_env *env, const struct kv *kv, size_t nkv, void **priv, char *err,
		      size_t errlen);
	/* Validate settings exactly as create() would, without side effects
	 * (no file created, no connection, secrets not read): what `vigil rules
	 * check` runs. 0 or -VIGIL_EINVAL with the message create() would give. */
	int (*check)(const struct kv *kv, size_t nkv, char *err, size_t errlen);
	/* Deliver n, blocking at most the destination's timeout; fill *res.
	 * SINK_OK is final: the notification has left this process (accepted
	 * by the receiver, written to the kernel, acknowledged by the broker),
	 * so a kill -9 right after cannot lose it. The gateway takes it off its
	 * outbox at once and, in the Kafka gateway, writes its done record
	 * (consumers/gateway_done.h) so that the member taking the alerts
	 * partition over does not send it again. A type that buffers must not
	 * answer SINK_OK before its buffer is flushed: what it still holds
	 * would be lost by a kill and never sent again. */
	void (*send)(void *priv, const struct notification *n, struct sink_result *res);
	/* Optional, called when the destination's queue runs empty: push out
	 * anything send() left behind (nothing a SINK_OK depends on). */
	int (*flush)(void *priv);
	/* Seconds between re-sends of a still-firing notification, for
	 * receivers that expire what they stop hearing about (Alertmanager);
	 * optional, NULL or 0 = send once. Called on the gateway's thread. */
	double (*repeat_every)(void *priv);
	void (*destroy)(void *priv);
	/* 1: the type renders group notifications (one message per group of an
	 * owner that groups); 0: it gets one notification per episode. */
	int groups;
};

/* Built-in destination types (one file each), listed in sinks/sinks.c. */
extern const struct sink_type sink_type_stdout;       /* sinks/sink_stdout.c */
extern const struct sink_type sink_type_file;         /* sinks/sink_file.c */
extern const struct sink_type sink_type_pagerduty;    /* sinks/sink_pagerduty.c */
extern const struct sink_type sink_type_webhook;      /* sinks/sink_webhook.c */
extern const struct sink_type sink_type_alertmanager; /* sinks/sink_alertmanager.c */
extern const struct sink_type sink_type_slack;        /* sinks/sink_slack.c */
extern const struct sink_type sink_type_email;        /* sinks/sink_email.c */
extern const struct sink_type sink_type_kafka;        /* sinks/sink_kafka.c */

const struct sink_type *sink_find(const char *name);
const struct sink_type *const *sink_all(void); /* NULL-terminated */

/* Helpers for destination files (sinks/sinks.c). */
/* Fill res with verdict v and a printf-formatted detail. */
void sink_result_set(struct sink_result *res, enum sink_verdict v, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The line form of the destinations that write n's JSON as it is (file,
 * stdout, kafka): the JSON object with an "idempotency_key" member added
 * last, n->idem_key (the webhooks' Idempotency-Key), so that a reader can
 * drop a notification it already has. Write the first *head bytes of
 * n->json, then tail (NUL-terminated, at most taillen bytes with the NUL).
 * Without a key, or when n->json is not one JSON object or the key would
 * need escaping, *head = n->json_len and tail = "" (the JSON unchanged). */
void sink_line_key(const struct notification *n, size_t *head, char *tail, size_t taillen);

#endif
