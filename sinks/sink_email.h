/* Internal to the "email" destination (sinks/sink_email.c and
 * sinks/sink_email_msg.c). */
#ifndef SINKS_SINK_EMAIL_H
#define SINKS_SINK_EMAIL_H

#include "core/buf.h"
#include "sinks/sink.h"

/* The whole RFC 5322 message for n (one alert, an acknowledgement or a
 * group) appended to m; m->failed set on allocation failure. from_hdr /
 * to_hdr are the From / To header values; now (wall clock) gives Date and
 * the Message-ID. Does not fail otherwise. */
void sink_email_message(const char *from_hdr, const char *to_hdr, const struct notification *n, double now,
			struct buf *m);

#endif
