/* See gateway_done.h. The one place where the done set meets the gateway's
 * outbox. */
#include "sinks/gateway_done.h"
#include "sinks/gateway_int.h"

void gateway_attach_done(struct gateway *gw, struct outbox_done_set *set)
{
	gw->done_set = set;
	for (size_t i = 0; i < gw->ngens; i++)
		outbox_attach_done(gw->gens[i]->ob, set);
}
