/* vigil bench: placeholder until the module lands. */
#include <stdio.h>

#include "core/cmds.h"

int cmd_bench(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "vigil bench: not built yet\n");
	return 1;
}
