/* SPDX-License-Identifier: MIT */
/* Exits with the status given as code=N on the command line. */
#include "rt/rt.h"

int test_main(void)
{
	uint64_t code;

	if (!cmdline_get_u64("code", &code)) {
		printf("exit_status: no code=N on the command line \"%s\"\n", rt_cmdline);
		return RT_EXIT_RT_ERROR;
	}
	printf("exit_status: exiting with %lu\n", code);
	return (int)(uint32_t)code;
}
