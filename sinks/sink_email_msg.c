/* The "email" destination's message (sinks/sink_email.c): an RFC 5322
 * message, MIME multipart/alternative with a plain-text part and an HTML
 * part, both UTF-8 quoted-printable, built from the same lines.
 *
 *  - one alert: Subject "[FIRING] <rule> on <series>" (or RESOLVED); the
 *    summary, then status, severity, rule, series, observed, expected,
 *    band, why, owner, episode and the runbook;
 *  - an acknowledgement: Subject "[ACKNOWLEDGED] <rule> on <series>", the
 *    same with who acknowledged and their comment first;
 *  - a group (notification.group): Subject "[FIRING:N] <group labels>
 *    (<reason>)" with N the alerts not resolved, or "[RESOLVED] ..." when
 *    none is; the owner, counts, reason and group key, then every alert
 *    (new, then firing, then resolved) with its mark NEW / FIRING /
 *    RESOLVED, rule, series, observed, expected and summary.
 * The Subject is RFC 2047-encoded when it is not plain ASCII.
 *
 * When the alert (or, for a group, any of its first EMAIL_MAX_CHARTS
 * alerts) carries a series window, its chart (core/chart.h) goes along as
 * an inline PNG: the message becomes multipart/related (the alternative
 * part, then one image/png part per chart, base64, Content-ID
 * <chart-EPISODE@vigil>) and the HTML shows it with <img src="cid:...">.
 * A chart that cannot be drawn is left out; the text is sent anyway. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/chart.h"
#include "core/hash.h"
#include "sinks/http.h"
#include "sinks/sink_email.h"

static void put(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

/* Header-safe copy: CR and LF become spaces. */
static void put_hdr(struct buf *b, const char *s)
{
	for (; s && *s; s++)
		buf_put(b, (*s == '\r' || *s == '\n') ? " " : s, 1);
}

/* Quoted-printable (RFC 2045) of text with "\n" line ends, CRLF out. */
static void put_qp(struct buf *b, const char *text)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		char enc[4];
		size_t n;
		if (*p == '\n') {
			put(b, "\r\n");
			col = 0;
			continue;
		}
		if ((*p >= 33 && *p <= 126 && *p != '=') ||
		    ((*p == ' ' || *p == '\t') && p[1] != '\n' && p[1] != '\0')) {
			enc[0] = (char)*p;
			n = 1;
		} else {
			enc[0] = '=';
			enc[1] = hex[*p >> 4];
			enc[2] = hex[*p & 15];
			n = 3;
		}
		if (col + n > 75) {
			put(b, "=\r\n");
			col = 0;
		}
		buf_put(b, enc, n);
		col += n;
	}
	put(b, "\r\n");
}

static void put_html(struct buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': put(b, "&amp;"); break;
		case '<': put(b, "&lt;"); break;
		case '>': put(b, "&gt;"); break;
		case '"': put(b, "&quot;"); break;
		default: buf_put(b, s, 1);
		}
	}
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The Subject value: as is when printable ASCII, else RFC 2047 "B" words
 * (each at most 45 input bytes, cut on UTF-8 boundaries). */
static void put_subject(struct buf *b, const char *s)
{
	int ascii = 1;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 32 || *p > 126)
			ascii = 0;
	if (ascii) {
		put(b, s);
		return;
	}
	size_t n = strlen(s), i = 0;
	while (i < n) {
		size_t take = n - i < 45 ? n - i : 45;
		while (take > 1 && i + take < n && ((unsigned char)s[i + take] & 0xC0) == 0x80)
			take--;
		put(b, i ? "\r\n =?UTF-8?B?" : "=?UTF-8?B?");
		const unsigned char *p = (const unsigned char *)s + i;
		for (size_t j = 0; j < take; j += 3) {
			unsigned v = (unsigned)p[j] << 16 | (j + 1 < take ? (unsigned)p[j + 1] << 8 : 0) |
				     (j + 2 < take ? p[j + 2] : 0);
			char q[4] = {b64[v >> 18 & 63], b64[v >> 12 & 63],
				     j + 1 < take ? b64[v >> 6 & 63] : '=', j + 2 < take ? b64[v & 63] : '='};
			buf_put(b, q, 4);
		}
		put(b, "?=");
		i += take;
	}
}

static void line_kv(struct buf *t, struct buf *h, const char *name, const char *value)
{
	put(t, name);
	put(t, ": ");
	put(t, value);
	put(t, "\n");
	put(h, "<tr><th align=\"left\">");
	put_html(h, name);
	put(h, "</th><td>");
	put_html(h, value);
	put(h, "</td></tr>\n");
}

static void num_text(char *out, size_t outlen, double v)
{
	if (isfinite(v))
		snprintf(out, outlen, "%.6g", v);
	else
		snprintf(out, outlen, "n/a");
}

/* The summary and the table of one alert into t / h. */
static void alert_table(const struct notification *n, const char *status, struct buf *t, struct buf *h)
{
	const struct alert_event *ev = n->ev;
	char sum[1100], why[400], v[32], e[32], lo[32], hi[32], band[80];

	dest_summary(ev, sum, sizeof sum);
	dest_why(ev, why, sizeof why);
	num_text(v, sizeof v, ev->value);
	num_text(e, sizeof e, ev->expected);
	num_text(lo, sizeof lo, ev->lower);
	num_text(hi, sizeof hi, ev->upper);
	snprintf(band, sizeof band, "[%s, %s]", lo, hi);

	put(t, sum);
	put(t, "\n\n");
	put(h, "<h2>");
	put_html(h, status);
	put(h, ": ");
	put_html(h, sum);
	put(h, "</h2>\n<table>\n");
	if (ev->status == ALERT_ACKNOWLEDGED) {
		char by[256], comment[1024];
		dest_ack_info(n->json, n->json_len, by, sizeof by, comment, sizeof comment);
		line_kv(t, h, "Acknowledged by", by[0] ? by : "(not given)");
		if (comment[0])
			line_kv(t, h, "Comment", comment);
	}
	line_kv(t, h, "Status", status);
	line_kv(t, h, "Severity", dest_severity(ev->action));
	line_kv(t, h, "Rule", ev->rule ? ev->rule : "?");
	line_kv(t, h, "Series", ev->series ? ev->series : "?");
	line_kv(t, h, "Observed", v);
	line_kv(t, h, "Expected", e);
	line_kv(t, h, "Band", band);
	line_kv(t, h, "Why", why);
	line_kv(t, h, "Owner", n->owner ? n->owner : ev->owner ? ev->owner : "?");
	line_kv(t, h, "Episode", n->episode ? n->episode : "?");
	put(h, "</table>\n");
	if (ev->runbook_url && ev->runbook_url[0]) {
		put(t, "Runbook: ");
		put(t, ev->runbook_url);
		put(t, "\n");
		put(h, "<p><a href=\"");
		put_html(h, ev->runbook_url);
		put(h, "\">Runbook</a></p>\n");
	}
}

/* One row of a group's alert list into t / h. */
static void group_row(const struct notification_group *g, size_t i, struct buf *t, struct buf *h)
{
	const struct alert_event *ev = &g->alerts[i];
	const char *mark = dest_change_mark(g->change[i]), *cells[6];
	char v[32], e[32], lead[16], why[128];

	num_text(v, sizeof v, ev->value);
	num_text(e, sizeof e, ev->expected);
	snprintf(lead, sizeof lead, "%-8s  ", mark);
	snprintf(why, sizeof why, ": observed %s, expected %s%s", v, e,
		 ev->status == ALERT_ACKNOWLEDGED ? " (acknowledged)" : "");
	put(t, lead);
	put(t, ev->rule ? ev->rule : "?");
	put(t, " on ");
	put(t, ev->series ? ev->series : "?");
	put(t, why);
	if (ev->summary && ev->summary[0]) {
		put(t, " - ");
		put(t, ev->summary);
	}
	put(t, "\n");
	cells[0] = mark;
	cells[1] = ev->rule ? ev->rule : "?";
	cells[2] = ev->series ? ev->series : "?";
	cells[3] = v;
	cells[4] = e;
	cells[5] = ev->summary ? ev->summary : "";
	put(h, "<tr>");
	for (size_t c = 0; c < VIGIL_ARRAY_LEN(cells); c++) {
		put(h, c == 0 ? "<td><b>" : "<td>");
		put_html(h, cells[c]);
		put(h, c == 0 ? "</b></td>" : "</td>");
	}
	if (ev->runbook_url && ev->runbook_url[0]) {
		put(h, "<td><a href=\"");
		put_html(h, ev->runbook_url);
		put(h, "\">Runbook</a></td>");
	} else {
		put(h, "<td></td>");
	}
	put(h, "</tr>\n");
}

/* A group's subject, head and every alert into t / h. */
static void group_table(const struct notification *n, char *subject, size_t sublen, struct buf *t,
			struct buf *h)
{
	const struct notification_group *g = n->group;
	size_t firing = dest_group_firing(g);
	char labels[900], head[1400];

	dest_group_labels_text(g, labels, sizeof labels);
	if (!labels[0]) /* grouped by nothing: the owner names it */
		snprintf(labels, sizeof labels, "%s", n->owner ? n->owner : "?");
	if (firing)
		snprintf(subject, sublen, "[FIRING:%zu] %s (%s)", firing, labels,
			 g->reason ? g->reason : "unknown");
	else
		snprintf(subject, sublen, "[RESOLVED] %s (%s)", labels, g->reason ? g->reason : "unknown");
	snprintf(head, sizeof head, "%s: %zu firing, %zu resolved (%s)", n->owner ? n->owner : "?", firing,
		 g->n - firing, g->reason ? g->reason : "unknown");
	put(t, head);
	put(t, "\n");
	put(h, "<h2>");
	put_html(h, head);
	put(h, "</h2>\n<table>\n");
	line_kv(t, h, "Group", labels);
	line_kv(t, h, "Group key", g->key ? g->key : "");
	put(t, "\n");
	put(h, "</table>\n<table>\n<tr><th align=\"left\">Change</th><th align=\"left\">Rule</th>"
	       "<th align=\"left\">Series</th><th align=\"left\">Observed</th>"
	       "<th align=\"left\">Expected</th><th align=\"left\">Summary</th><th></th></tr>\n");
	for (int rank = 0; rank < 4; rank++)
		for (size_t i = 0; i < g->n; i++)
			if (dest_change_rank(g->change[i]) == rank)
				group_row(g, i, t, h);
	put(h, "</table>\n");
	if (g->truncated) {
		char more[96];
		snprintf(more, sizeof more, "... and %zu more alerts of the group, not listed", g->truncated);
		put(t, more);
		put(t, "\n");
		put(h, "<p>");
		put_html(h, more);
		put(h, "</p>\n");
	}
}

#define EMAIL_MAX_CHARTS 3

struct email_chart {
	char cid[40]; /* "chart-<episode>@vigil" */
	struct buf png;
};

/* base64 (RFC 2045) of data, 76-character lines, CRLF. */
static void put_b64(struct buf *b, const uint8_t *data, size_t len)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t col = 0;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)data[i] << 16;
		size_t k = len - i;
		if (k > 1)
			v |= (uint32_t)data[i + 1] << 8;
		if (k > 2)
			v |= data[i + 2];
		char q[4] = {tab[(v >> 18) & 63], tab[(v >> 12) & 63], k > 1 ? tab[(v >> 6) & 63] : '=',
			     k > 2 ? tab[v & 63] : '='};
		buf_put(b, q, 4);
		col += 4;
		if (col == 76) {
			put(b, "\r\n");
			col = 0;
		}
	}
	if (col)
		put(b, "\r\n");
}

/* The chart of ev as PNG into c (cid from its episode). 0, or -1 when it
 * has no window or could not be drawn. */
static int make_chart(const struct alert_event *ev, struct email_chart *c)
{
	struct alert_point pts[ALERT_WINDOW_MAX];
	struct chart_input ci;
	char sub[512], ep[17];
	memset(&c->png, 0, sizeof c->png);
	if (chart_input_of_alert(ev, pts, sub, sizeof sub, &ci) == 0)
		return -1;
	alert_episode(ev, ep);
	snprintf(c->cid, sizeof c->cid, "chart-%s@vigil", ep);
	if (chart_png(&ci, &c->png) != 0) {
		buf_free(&c->png);
		return -1;
	}
	return 0;
}

void sink_email_message(const char *from_hdr, const char *to_hdr, const struct notification *n, double now,
			struct buf *m)
{
	const struct alert_event *ev = n->ev;
	const char *status = ev->status == ALERT_RESOLVED       ? "RESOLVED"
			     : ev->status == ALERT_ACKNOWLEDGED ? "ACKNOWLEDGED"
								: "FIRING";
	struct buf t = {0}, h = {0};
	struct email_chart charts[EMAIL_MAX_CHARTS];
	size_t ncharts = 0;
	char subject[1024], date[64], bound[64], rbound[72], id[17];
	struct tm tm;
	time_t secs = (time_t)now;

	gmtime_r(&secs, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	put(&h, "<html><body>\n");
	if (n->group) {
		group_table(n, subject, sizeof subject, &t, &h);
		hash_hex(hash_str(HASH_SEED, n->group->key ? n->group->key : ""), id);
		status = dest_group_firing(n->group) ? "FIRING" : "RESOLVED";
	} else {
		snprintf(subject, sizeof subject, "[%s] %s on %s", status, ev->rule ? ev->rule : "?",
			 ev->series ? ev->series : "?");
		alert_table(n, status, &t, &h);
		snprintf(id, sizeof id, "%s", n->episode && n->episode[0] ? n->episode : "x");
	}
	if (n->group) {
		for (size_t i = 0; i < n->group->n && ncharts < EMAIL_MAX_CHARTS; i++)
			if (make_chart(&n->group->alerts[i], &charts[ncharts]) == 0)
				ncharts++;
	} else if (make_chart(ev, &charts[0]) == 0) {
		ncharts = 1;
	}
	for (size_t i = 0; i < ncharts; i++) {
		put(&h, "<p><img src=\"cid:");
		put(&h, charts[i].cid);
		put(&h, "\" alt=\"chart of the series\" width=\"800\" height=\"320\"></p>\n");
	}
	put(&h, "</body></html>\n");
	buf_put(&t, "", 1);
	buf_put(&h, "", 1);
	snprintf(bound, sizeof bound, "vigil-%s-%.0f", id, floor(now * 1000));
	snprintf(rbound, sizeof rbound, "%s-related", bound);

	put(m, "From: ");
	put_hdr(m, from_hdr);
	put(m, "\r\nTo: ");
	put_hdr(m, to_hdr);
	put(m, "\r\nSubject: ");
	for (char *p = subject; *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	put_subject(m, subject);
	put(m, "\r\nDate: ");
	put(m, date);
	put(m, "\r\nMessage-ID: <");
	put(m, bound);
	put(m, ".");
	put(m, status);
	if (n->group) {
		put(m, "@vigil>\r\nX-Vigil-Group: ");
		put(m, id);
	} else {
		put(m, "@vigil>\r\nX-Vigil-Episode: ");
		put_hdr(m, n->episode ? n->episode : "");
	}
	put(m, "\r\nMIME-Version: 1.0\r\n");
	if (ncharts) {
		put(m, "Content-Type: multipart/related; type=\"multipart/alternative\"; boundary=\"");
		put(m, rbound);
		put(m, "\"\r\n\r\n--");
		put(m, rbound);
		put(m, "\r\n");
	}
	put(m, "Content-Type: multipart/alternative; boundary=\"");
	put(m, bound);
	put(m, "\"\r\n\r\n--");
	put(m, bound);
	put(m, "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
	       "quoted-printable\r\n\r\n");
	if (buf_ok(&t))
		put_qp(m, (const char *)t.data);
	put(m, "--");
	put(m, bound);
	put(m, "\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: "
	       "quoted-printable\r\n\r\n");
	if (buf_ok(&h))
		put_qp(m, (const char *)h.data);
	put(m, "--");
	put(m, bound);
	put(m, "--\r\n");
	for (size_t i = 0; i < ncharts; i++) {
		put(m, "--");
		put(m, rbound);
		put(m,
		    "\r\nContent-Type: image/png; name=\"chart.png\"\r\nContent-Transfer-Encoding: base64\r\n"
		    "Content-ID: <");
		put(m, charts[i].cid);
		put(m, ">\r\nContent-Disposition: inline; filename=\"chart.png\"\r\n\r\n");
		put_b64(m, charts[i].png.data, charts[i].png.len);
		buf_free(&charts[i].png);
	}
	if (ncharts) {
		put(m, "--");
		put(m, rbound);
		put(m, "--\r\n");
	}
	if (!buf_ok(&t) || !buf_ok(&h))
		m->failed = 1;
	buf_free(&t);
	buf_free(&h);
}
