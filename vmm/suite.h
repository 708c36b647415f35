/* SPDX-License-Identifier: MIT */
#ifndef MINIVMM_SUITE_H
#define MINIVMM_SUITE_H

/* `minivmm test`: argv[0] is "test". Returns the process exit status. */
int suite_main(int argc, char **argv);

#endif
