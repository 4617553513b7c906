/* cli.h: what every cnnkit program shares, the program side of DESIGN.md's
 * contract: messages that start with the program's name, exit status 1 for a
 * failure and 2 for a usage error (with the short usage), range-checked
 * numbers for options, and standard output checked before exit. The library
 * never prints or exits; these do, so they live here: the Makefile links the
 * objects of bin/cli into every program. */
#ifndef CNNKIT_CLI_H
#define CNNKIT_CLI_H

#include <stdint.h>
#include <stdio.h>

/* Call first in main: name starts every message; short_usage (NULL: none)
 * prints the short usage to the stream given, after a usage error. */
void cli_init(const char *name, void (*short_usage)(FILE *f));

/* "name: message" on standard error; a format that ends in ':' gets
 * " strerror(errno)" appended (sbase's eprintf). */
void errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "name: warning: message". */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* errmsg, then exit 1. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* "name: message", the short usage, exit 2. */
void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* An option's number within [lo, hi] (ck_parse_i64, ck_parse_f64), else a
 * usage error: OPT "TEXT": expected an integer from LO to HI (a number from
 * LO to HI). */
int64_t cli_int(const char *opt, const char *text, int64_t lo, int64_t hi);
double cli_real(const char *opt, const char *text, double lo, double hi);

/* The command line (malloc'ed), for metadata created_by: the arguments
 * joined by spaces, those a shell would split or expand in single quotes, so
 * that the line runs again as it was typed. Call before getopt_long, which
 * reorders argv. */
char *cli_command_line(int argc, char **argv);

/* Flushes and closes standard output, so that a full disk or a closed pipe
 * shows in the exit status (sbase's fshut). Returns status, or 1 after a
 * write error, which is reported unless status already says the program
 * failed (one message per failure). Use as `return cli_close_stdout(status);`. */
int cli_close_stdout(int status);

#endif
