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

void sink_line_key(const struct notification *n, size_t *head, char *tail, size_t taillen)
{
	const char *k = n->idem_key;
	size_t len = n->json_len;

	*head = len;
	tail[0] = 0;
	while (len > 0 && (n->json[len - 1] == '\n' || n->json[len - 1] == ' '))
		len--;
	if (!k || !k[0] || len < 2 || n->json[0] != '{' || n->json[len - 1] != '}')
		return;
	for (const char *p = k; *p; p++)
		if (*p < 0x20 || *p == '"' || *p == '\\' || (unsigned char)*p >= 0x7f)
			return;
	/* "{}" gets no comma */
	size_t inner = len - 1;
	while (inner > 1 && (n->json[inner - 1] == ' ' || n->json[inner - 1] == '\n'))
		inner--;
	int w = snprintf(tail, taillen, "%s\"idempotency_key\":\"%s\"}", inner > 1 ? "," : "", k);
	if (w < 0 || (size_t)w >= taillen) {
		tail[0] = 0;
		return;
	}
	*head = len - 1;
}
