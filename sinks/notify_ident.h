/* What identifies one notification to one destination, independently of
 * when or by which gateway process it was decided, so a gateway member that
 * takes an alerts partition over can tell a notification it regenerates
 * from one the previous owner already delivered (consumers/gateway_done.c)
 * and so a receiver can drop a rare duplicate (the Idempotency-Key header
 * of webhook-like destinations).
 *
 * A single-alert notification is identified by its destination, its
 * fingerprint, its episode and its status (firing, resolved, acknowledged);
 * a group document (schema vigil.group/v1) by its destination, its group
 * key and the (episode, change) pair of every alert it carries, in any
 * order. Text that is not JSON is identified by its bytes.
 * @thread any; no state. */
#ifndef SINKS_NOTIFY_IDENT_H
#define SINKS_NOTIFY_IDENT_H

#include <stddef.h>
#include <stdint.h>

/* The identity of json sent to the destination named dest_id (the
 * gateway's stable destination id, e.g. "owner#0"). Never 0. */
uint64_t notify_ident(const char *dest_id, const char *json);

/* The receiver-facing idempotency key of a notification, the same for
 * every destination and every re-send: "vigil/<fingerprint>/<episode>/
 * <status>" for one alert, "vigil-group/<16 hex digits>" for a group
 * document (a hash of its group key and (episode, change) pairs), written
 * to out (at most outlen bytes, truncated). Returns out. */
const char *notify_idem_key(const char *json, char *out, size_t outlen);

#endif
