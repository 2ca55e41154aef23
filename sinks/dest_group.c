/* Shared pieces of the destinations for group notifications and
 * acknowledgements (see sinks/http.h). */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "sinks/http.h"

void dest_group_member(const struct notification *n, size_t i, struct notification *out, char fp[17],
		       char ep[17])
{
	const struct notification_group *g = n->group;
	alert_fingerprint(&g->alerts[i], fp);
	alert_episode(&g->alerts[i], ep);
	*out = (struct notification){
		.ev = &g->alerts[i],
		.fingerprint = fp,
		.episode = ep,
		.dedup_key = "",
		.owner = n->owner,
		.json = g->json ? g->json[i] : "",
		.json_len = g->json ? strlen(g->json[i]) : 0,
		.group = NULL,
	};
}

size_t dest_group_firing(const struct notification_group *g)
{
	size_t k = 0;
	for (size_t i = 0; i < g->n; i++)
		if (g->alerts[i].status != ALERT_RESOLVED)
			k++;
	return k;
}

int dest_change_rank(const char *change)
{
	if (change && !strcmp(change, "new"))
		return 0;
	if (change && !strcmp(change, "firing"))
		return 1;
	if (change && !strcmp(change, "resolved"))
		return 2;
	return 3;
}

const char *dest_change_mark(const char *change)
{
	static const char *const marks[] = {"NEW", "FIRING", "RESOLVED", "CHANGED"};
	return marks[dest_change_rank(change)];
}

/* After snprintf cut s short: drop an incomplete UTF-8 sequence at its end. */
static void utf8_fix_tail(char *s)
{
	size_t n = strlen(s), i = n;
	while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
		i--;
	if (i == 0)
		return;
	unsigned char lead = (unsigned char)s[i - 1];
	size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
	if (n - (i - 1) < want)
		s[i - 1] = '\0';
}

void dest_group_labels_text(const struct notification_group *g, char *out, size_t outlen)
{
	size_t off = 0;
	if (outlen == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < g->nlabels && off < outlen; i++)
		off += (size_t)snprintf(out + off, outlen - off, "%s%s=%s", i ? " " : "",
					g->labels[i].key ? g->labels[i].key : "",
					g->labels[i].value ? g->labels[i].value : "");
	if (off >= outlen)
		utf8_fix_tail(out);
}

static void copy_field(json_t *j, const char *key, char *out, size_t outlen)
{
	const char *s = json_string_value(json_object_get(j, key));
	if (outlen == 0)
		return;
	if ((size_t)snprintf(out, outlen, "%s", s ? s : "") >= outlen)
		utf8_fix_tail(out);
}

void dest_ack_info(const char *json, size_t len, char *by, size_t bylen, char *comment, size_t commentlen)
{
	json_t *j = json && len ? json_loadb(json, len, 0, NULL) : NULL;
	copy_field(j, "acknowledged_by", by, bylen);
	copy_field(j, "ack_comment", comment, commentlen);
	json_decref(j);
}
