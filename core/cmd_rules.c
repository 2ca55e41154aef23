/* vigil rules: placeholder until the module lands. */
#include <stdio.h>

#include "core/cmds.h"

int cmd_rules(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "vigil rules: not built yet\n");
	return 1;
}
