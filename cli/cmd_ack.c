/* vigil ack: acknowledge (or, with --unack, unacknowledge) an open alert's
 * episode through the gateway's control channel (cli/ctl_client.h). An
 * acknowledged episode stops escalating; its owner's destinations are told. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmds.h"
#include "cli/ctl_client.h"
#include "core/timefmt.h"

static void ack_usage(FILE *f)
{
	fprintf(f, "usage: vigil ack (-c CONFIG | --state DIR [--owners FILE]) [--owner O]\n"
		   "                 [--author A] [--comment C] [--unack] EPISODE\n\n"
		   "Acknowledges the open alert with episode id EPISODE (16 hex digits, as in its\n"
		   "notifications): its escalation stops and the people already reached are told.\n"
		   "--unack takes the acknowledgement back (the escalation starts again).\n"
		   "Without --owner the episode's owner is looked up in the gateway's state (the\n"
		   "snapshots of every alerts partition, or DIR/gateway.log); an episode that is\n"
		   "not there (it fired after the last snapshot) needs --owner.\n\n"
		   "  -c CONFIG        the Kafka deployment's config: the command goes to its\n"
		   "                   control_topic keyed by owner, confirmed by the broker\n"
		   "  --state DIR      instead: a `vigil replay --state DIR` gateway (appends to\n"
		   "                   DIR/control.jsonl)\n"
		   "  --owners FILE    with --state: the owners file, to check --owner\n"
		   "  --owner O        the episode's owner\n"
		   "  --author A       who acknowledges (default $USER)\n"
		   "  --comment C      a note for the people reached\n"
		   "  --unack          unacknowledge\n"
		   "  -v               debug logging\n\n"
		   "Exit status: 0 published, 1 failure (broker, files, episode not found),\n"
		   "2 usage error.\n");
}

/* The owner of the group holding episode ep in the view, or NULL. */
static const char *owner_of(const struct ctl_view *v, const char *ep)
{
	size_t i, k;
	json_t *g, *a;
	json_array_foreach(v->groups, i, g) json_array_foreach(json_object_get(g, "alerts"), k, a)
	{
		const char *aep = json_string_value(json_object_get(a, "ep"));
		if (aep && strcmp(aep, ep) == 0)
			return json_string_value(json_object_get(g, "owner"));
	}
	return NULL;
}

int cmd_ack(int argc, char **argv)
{
	static const char prog[] = "vigil ack";
	struct ctl_args a;
	struct ctl_env e = {0};
	struct ctl_view v = {0};
	json_t *cmd = NULL;
	char ep[17], where[160] = "", at[48];
	const char *owner, *by;
	int rc;

	if (cmd_wants_help(argc, argv)) {
		ack_usage(stdout);
		return 0;
	}
	if ((rc = ctl_parse(prog, argc, argv,
			    CTL_O_CONFIG | CTL_O_STATE | CTL_O_OWNERS | CTL_O_RULES | CTL_O_OWNER |
				    CTL_O_AUTHOR | CTL_O_COMMENT | CTL_O_UNACK,
			    &a, ack_usage)) != 0)
		return rc;
	if (a.npos != 1) {
		fprintf(stderr, "%s: want exactly one EPISODE (16 hex digits), got %d arguments\n\n", prog,
			a.npos);
		ack_usage(stderr);
		return 2;
	}
	size_t n = strlen(a.pos[0]);
	for (size_t i = 0; i < n && n == 16; i++)
		if (!isxdigit((unsigned char)a.pos[0][i]))
			n = 0;
	if (n != 16) {
		fprintf(stderr, "%s: EPISODE '%s': not an episode id (16 hex digits)\n", prog, a.pos[0]);
		return 2;
	}
	for (size_t i = 0; i < 16; i++)
		ep[i] = (char)tolower((unsigned char)a.pos[0][i]);
	ep[16] = '\0';
	if ((rc = ctl_env_open(&e, prog, &a, CTL_WRITES)) != 0)
		goto out;
	owner = a.owner;
	if (owner && (rc = ctl_check_owner(&e, "--owner", owner)) != 0)
		goto out;
	if (owner == NULL) {
		if ((rc = ctl_view_load(&e, &v)) != 0)
			goto out;
		if ((owner = owner_of(&v, ep)) == NULL) {
			fprintf(stderr,
				"%s: episode %s is not an open alert in the gateway's state; if it fired "
				"after "
				"the last snapshot, give --owner\n",
				prog, ep);
			rc = 1;
			goto out;
		}
	}
	by = a.author ? a.author : getenv("USER");
	time_format_rfc3339(ctl_now_ms(), at, sizeof at);
	cmd = ctl_cmd_new(a.unack ? "unack" : "ack");
	if (!cmd || json_object_set_new(cmd, "owner", json_string(owner)) != 0 ||
	    json_object_set_new(cmd, "episode", json_string(ep)) != 0 ||
	    json_object_set_new(cmd, "at", json_string(at)) != 0 ||
	    (by && by[0] && json_object_set_new(cmd, "by", json_string(by)) != 0) ||
	    (a.comment && json_object_set_new(cmd, "comment", json_string(a.comment)) != 0)) {
		fprintf(stderr, "%s: out of memory\n", prog);
		rc = 1;
		goto out;
	}
	if ((rc = ctl_send(&e, owner, cmd, where, sizeof where)) == 0)
		printf("%s episode %s of %s%s%s; published to %s\n",
		       a.unack ? "unacknowledged" : "acknowledged", ep, owner, by && by[0] ? " as " : "",
		       by && by[0] ? by : "", where);
out:
	json_decref(cmd);
	ctl_view_free(&v);
	ctl_env_close(&e);
	return rc;
}
