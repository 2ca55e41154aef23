/* The destination registry: a static, NULL-terminated table of every built-in
 * sink type. A new destination is a new file plus one line here. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sinks/sink.h"

static const struct sink_type *const sink_table[] = {
	&sink_type_stdout,  &sink_type_file,         &sink_type_pagerduty,
	&sink_type_webhook, &sink_type_alertmanager, &sink_type_slack,
	&sink_type_email,   &sink_type_kafka,        NULL,
};

const struct sink_type *sink_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; sink_table[i]; i++)
		if (!strcmp(sink_table[i]->name, name))
			return sink_table[i];
	return NULL;
}

const struct sink_type *const *sink_all(void)
{
	return sink_table;
}

void sink_result_set(struct sink_result *res, enum sink_verdict v, int status, const char *fmt, ...)
{
	va_list ap;
	res->verdict = v;
	res->status = status;
	res->retry_after = 0;
	va_start(ap, fmt);
	vsnprintf(res->detail, sizeof res->detail, fmt, ap);
	va_end(ap);
}
