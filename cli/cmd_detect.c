/* vigil detect: score one NAB-format CSV (header row, then timestamp,value)
 * with one detector, causally, and write timestamp,value,anomaly_score with
 * one row per input row in input order. Bad rows are reported on stderr as
 * file:line:column, scored 0 and fed to the detector as a gap. */
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cmds.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/timefmt.h"
#include "detectors/detector.h"

#define MAX_SETS 64
#define ROW_MAX  (1u << 20) /* bytes of one row (its newline excluded), as replay's records */

/* Read one row into buf (ROW_MAX + 2 bytes): *blen bytes, its newline
 * included, NUL-terminated. A longer row is read to its end but not kept:
 * *over gets its length (0 otherwise) and buf is "". Returns the bytes
 * read, 0 at the end of the input. Memory stays bounded by ROW_MAX
 * whatever the input. */
static size_t read_row(FILE *in, char *buf, size_t *blen, size_t *over)
{
	size_t n = 0, total = 0;
	int c = EOF;
	while ((c = getc_unlocked(in)) != EOF) {
		total++;
		if (n <= ROW_MAX)
			buf[n++] = (char)c;
		if (c == '\n')
			break;
	}
	size_t content = total - (c == '\n');
	*over = content > ROW_MAX ? content : 0;
	*blen = *over ? 0 : n;
	buf[*blen] = '\0';
	return total;
}

/* A message on stderr, clearing the progress line first if one is shown. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	if (progress_take_line())
		fputs("\r\033[K", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

/* Field f as a message shows it: printable ASCII as is (' and \\ escaped),
 * any other byte as \\xNN, so input never writes raw bytes (terminal
 * escapes) to stderr; cut after 64 bytes of f, with its length. Returns out
 * (outlen >= 64 * 4 + 32 keeps the whole cut form). */
static const char *shown(const char *f, char *out, size_t outlen)
{
	size_t n = strlen(f), o = 0, i;
	for (i = 0; i < n && i < 64 && o + 5 < outlen; i++) {
		unsigned char c = (unsigned char)f[i];
		if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
	}
	out[o] = '\0';
	if (i < n)
		snprintf(out + o, outlen - o, "...(%zu bytes)", n);
	return out;
}

/* A bad row: said with its position for the first 20, then once that more
 * are not shown; *bad counts every one. */
static void bad_row(const char *path, long lineno, int col, const char *what, const char *field, long *bad)
{
	char q[64 * 4 + 32];
	if (++*bad <= 20)
		say("vigil detect: %s:%ld:%d: bad %s '%s'\n", path, lineno, col, what,
		    shown(field, q, sizeof q));
	else if (*bad == 21)
		say("vigil detect: %s: more bad rows not shown\n", path);
}

static void detect_usage(FILE *f)
{
	fprintf(f,
		"usage: vigil detect [--detector NAME] [--set KEY=VALUE ...] [--why] FILE.csv|-\n\n"
		"Reads a NAB-style CSV (header with `timestamp` and `value` columns, timestamps\n"
		"like 2014-04-01 00:00:00 or RFC 3339) and writes timestamp,value,anomaly_score\n"
		"to stdout, one row per input row. The score is in [0, 1] and depends only on\n"
		"the rows up to it (causal).\n\n"
		"  --detector NAME   detector type (default: %s; see `vigil help detectors`)\n"
		"  --set KEY=VALUE   override a detector parameter (repeatable)\n"
		"  --why             also write expected,lower,upper,model columns (model: the\n"
		"                    sub-model in use, e.g. holtwinters fallback|holt|seasonal)\n\n"
		"On a terminal, stderr shows a progress line (rows, rate, ETA) while the file\n"
		"is read; VIGIL_PROGRESS=0 turns it off, =1 forces it.\n",
		det_default_name());
}

/* Split a CSV header into the indexes of the timestamp and value columns. */
static int find_columns(char *hdr, int *ts_col, int *val_col)
{
	int col = 0;
	*ts_col = *val_col = -1;
	for (char *tok = hdr, *next; tok; tok = next, col++) {
		next = strchr(tok, ',');
		if (next)
			*next++ = '\0';
		while (*tok == ' ' || *tok == '"')
			tok++;
		size_t n = strlen(tok);
		while (n &&
		       (tok[n - 1] == ' ' || tok[n - 1] == '"' || tok[n - 1] == '\r' || tok[n - 1] == '\n'))
			tok[--n] = '\0';
		if (strcmp(tok, "timestamp") == 0)
			*ts_col = col;
		else if (strcmp(tok, "value") == 0)
			*val_col = col;
	}
	return *ts_col >= 0 && *val_col >= 0 ? 0 : -1;
}

static void print_num(FILE *out, double v)
{
	if (isfinite(v))
		fprintf(out, ",%.10g", v);
	else
		fputs(",", out);
}

int cmd_detect(int argc, char **argv)
{
	const char *det_name = det_default_name(), *path = NULL;
	struct kv sets[MAX_SETS];
	char *set_copies[MAX_SETS];
	size_t nsets = 0;
	int why = 0, rc = 1, ts_col, val_col;
	char err[512];
	struct detector d = {0};
	void *state = NULL;
	FILE *in = NULL;
	char *line = NULL;
	size_t len, over, got;
	long lineno = 0, bad = 0, refused = 0;
	double last_ts = -INFINITY;

	if (cmd_wants_help(argc, argv)) {
		detect_usage(stdout);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--detector") == 0 && i + 1 < argc) {
			det_name = argv[++i];
		} else if (strcmp(argv[i], "--set") == 0 && i + 1 < argc) {
			char *eq, *copy;
			if (nsets == MAX_SETS || (eq = strchr(argv[i + 1], '=')) == NULL) {
				say("vigil detect: --set wants KEY=VALUE, got '%s'\n", argv[i + 1]);
				goto out_sets;
			}
			copy = strdup(argv[++i]);
			if (copy == NULL)
				goto out_sets;
			copy[eq - argv[i]] = '\0';
			set_copies[nsets] = copy;
			sets[nsets].key = copy;
			sets[nsets].value = copy + (eq - argv[i]) + 1;
			sets[nsets].where = "--set";
			nsets++;
		} else if (strcmp(argv[i], "--why") == 0) {
			why = 1;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			say("vigil detect: unknown option '%s'\n", argv[i]);
			detect_usage(stderr);
			rc = 2;
			goto out_sets;
		} else if (path == NULL) {
			path = argv[i];
		} else {
			say("vigil detect: one input file only\n");
			rc = 2;
			goto out_sets;
		}
	}
	if (path == NULL) {
		detect_usage(stderr);
		rc = 2;
		goto out_sets;
	}
	if (det_new(det_name, sets, nsets, &d, err, sizeof err) != 0) {
		say("vigil detect: %s\n", err);
		rc = 2;
		goto out_sets;
	}
	state = malloc(det_state_size(&d));
	if (state == NULL || det_state_init(&d, state) != 0) {
		say("vigil detect: cannot initialise detector state\n");
		goto out;
	}
	in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (in == NULL) {
		say("vigil detect: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if ((line = malloc(ROW_MAX + 2)) == NULL) {
		say("vigil detect: out of memory\n");
		goto out;
	}
	got = read_row(in, line, &len, &over);
	if (over) {
		say("vigil detect: %s:1:%u: header line of %zu bytes, longer than a row may be (%u)\n", path,
		    ROW_MAX + 1, over, ROW_MAX);
		goto out;
	}
	if (got == 0 || find_columns(line, &ts_col, &val_col) != 0) {
		say("vigil detect: %s:1:1: header must name `timestamp` and `value` columns\n", path);
		goto out;
	}
	lineno = 1;
	struct stat sb;
	uint64_t total = in != stdin && fstat(fileno(in), &sb) == 0 && S_ISREG(sb.st_mode)
				 ? (uint64_t)sb.st_size
				 : 0,
		 done = (uint64_t)got;
	struct progress prog;
	progress_start(&prog, "vigil detect", "rows");
	printf(why ? "timestamp,value,anomaly_score,expected,lower,upper,model\n"
		   : "timestamp,value,anomaly_score\n");
	while ((got = read_row(in, line, &len, &over)) > 0) {
		done += (uint64_t)got;
		if ((lineno & 1023) == 0)
			progress_update(&prog, (uint64_t)lineno, done, total);
		char *fields[64], *p = line;
		int nf = 0, bad_col = 0;
		double ts = NAN, x = NAN;
		struct det_result res;
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (over) {
			/* too long to hold: a bad row (scored 0, empty fields), said and counted */
			bad++;
			if (bad <= 20)
				say("vigil detect: %s:%ld:%u: line of %zu bytes, longer than a row may be "
				    "(%u)\n",
				    path, lineno, ROW_MAX + 1, over, ROW_MAX);
			else if (bad == 21)
				say("vigil detect: %s: more bad rows not shown\n", path);
			fputs(why ? ",,0,,,,\n" : ",,0\n", stdout);
			continue;
		}
		if (len == 0)
			continue;
		fields[nf++] = p;
		for (; *p && nf < 64; p++)
			if (*p == ',') {
				*p = '\0';
				fields[nf++] = p + 1;
			}
		const char *tsf = ts_col < nf ? fields[ts_col] : "";
		const char *vf = val_col < nf ? fields[val_col] : "";
		int col_ts = 1, col_v = 1;
		for (int k = 0; k < ts_col && k < nf; k++)
			col_ts += (int)strlen(fields[k]) + 1;
		for (int k = 0; k < val_col && k < nf; k++)
			col_v += (int)strlen(fields[k]) + 1;
		if (ts_col >= nf || time_parse_text(tsf, strlen(tsf), &ts, &bad_col) != 0) {
			bad_row(path, lineno, col_ts + (bad_col > 0 ? bad_col - 1 : 0), "timestamp", tsf,
				&bad);
			ts = NAN;
		} else {
			char *end;
			errno = 0;
			x = strtod(vf, &end);
			if (val_col >= nf || end == vf || *end != '\0' || errno != 0 || !isfinite(x)) {
				bad_row(path, lineno, col_v, "value", vf, &bad);
				x = NAN;
			}
		}
		const char *why_refused = NULL;
		int urc = 0;
		if (isfinite(ts) && !(ts > last_ts))
			why_refused = "timestamp not after the previous row's";
		else if (isfinite(ts) && isfinite(x) && fabs(x) > DET_MAX_ABS)
			why_refused = "|value| above 1e150, too large for the detectors' arithmetic";
		else if (isfinite(ts) && (urc = d.type->update(d.cfg, state, ts, x, &res)) != 0)
			why_refused = vigil_strerror(urc);
		if (why_refused) {
			/* refused: scored 0, said with the row and counted */
			res.score = res.expected = res.lower = res.upper = NAN;
			refused++;
			if (refused <= 20)
				say("vigil detect: %s:%ld: point refused (scored 0): %s\n", path, lineno,
				    why_refused);
			else if (refused == 21)
				say("vigil detect: %s: more refused points not shown\n", path);
		} else if (isfinite(ts)) {
			last_ts = ts;
		} else {
			res.score = res.expected = res.lower = res.upper = NAN;
		}
		double s = isfinite(res.score) ? fmin(1.0, fmax(0.0, res.score)) : 0.0;
		fputs(tsf, stdout);
		fputc(',', stdout);
		fputs(vf, stdout);
		fprintf(stdout, ",%.10g", s);
		if (why) {
			print_num(stdout, res.expected);
			print_num(stdout, res.lower);
			print_num(stdout, res.upper);
			fprintf(stdout, ",%s", d.type->model ? d.type->model(d.cfg, state) : "");
		}
		fputc('\n', stdout);
	}
	progress_end(&prog);
	if (ferror(in)) {
		say("vigil detect: %s: read error: %s\n", path, strerror(errno));
		goto out;
	}
	if (fflush(stdout) != 0) {
		say("vigil detect: write error: %s\n", strerror(errno));
		goto out;
	}
	if (bad)
		say("vigil detect: %s: %ld bad rows (scored 0)\n", path, bad);
	if (refused)
		say("vigil detect: %s: %ld points refused by the detector (scored 0)\n", path, refused);
	rc = 0;
out:
	free(line);
	if (in && in != stdin)
		fclose(in);
	if (state) {
		det_state_fini(&d, state);
		free(state);
	}
	det_free(&d);
out_sets:
	for (size_t i = 0; i < nsets; i++)
		free(set_copies[i]);
	return rc;
}
