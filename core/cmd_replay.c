/* vigil replay: placeholder until the module lands. */
#include <stdio.h>

#include "core/cmds.h"

int cmd_replay(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "vigil replay: not built yet\n");
	return 1;
}
