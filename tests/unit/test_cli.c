/* test_cli.c: the program support every program links (bin/cli/cli.c): the
 * messages and exit statuses of die and usage_error, option numbers, the
 * command line kept as created_by, the standard-output check. The exiting
 * cases run in a child whose standard error is read back. */
#include "check.h"
#include "cli/cli.h"

#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void short_usage(FILE *f)
{
	fputs("usage: prog [-n N]\n", f);
}

/* Runs fn in a child; returns its exit status and its standard error. */
static int in_child(void (*fn)(void), char *err, size_t cap)
{
	int fds[2];
	if (pipe(fds) != 0)
		return -1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], 2);
		cli_init("prog", short_usage);
		fn();
		_exit(0);
	}
	close(fds[1]);
	size_t n = 0;
	ssize_t r;
	while (n + 1 < cap && (r = read(fds[0], err + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	err[n] = '\0';
	close(fds[0]);
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void call_die(void)
{
	die("%s: broken", "x.tnz");
}
static void call_die_errno(void)
{
	errno = ENOENT;
	die("cannot open %s:", "x.tnz");
}
static void call_usage_error(void)
{
	usage_error("unknown option %s", "--bogus");
}
static void call_bad_int(void)
{
	cli_int("--batch", "0", 1, 1 << 20);
}
static void call_bad_real(void)
{
	cli_real("--lr", "nan", 1e-9, 10);
}
static void call_warn(void)
{
	warn("%d rows left out", 3);
	errmsg("%s", "not fatal");
}

static void test_messages(void)
{
	char err[512];
	CHECK(in_child(call_die, err, sizeof err) == 1 && strcmp(err, "prog: x.tnz: broken\n") == 0,
	      "die: %s", err);
	CHECK(in_child(call_die_errno, err, sizeof err) == 1 &&
	          strcmp(err, "prog: cannot open x.tnz: No such file or directory\n") == 0,
	      "die with ':': %s", err);
	CHECK(in_child(call_usage_error, err, sizeof err) == 2 &&
	          strcmp(err, "prog: unknown option --bogus\nusage: prog [-n N]\n") == 0,
	      "usage_error: %s", err);
	CHECK(in_child(call_bad_int, err, sizeof err) == 2 &&
	          strncmp(err, "prog: --batch \"0\": expected an integer from 1 to 1048576\n", 56) == 0,
	      "cli_int: %s", err);
	CHECK(in_child(call_bad_real, err, sizeof err) == 2 &&
	          strncmp(err, "prog: --lr \"nan\": expected a number from 1e-09 to 10\n", 52) == 0,
	      "cli_real: %s", err);
	CHECK(in_child(call_warn, err, sizeof err) == 0 &&
	          strcmp(err, "prog: warning: 3 rows left out\nprog: not fatal\n") == 0,
	      "warn, errmsg: %s", err);
}

static void test_numbers(void)
{
	CHECK(cli_int("-n", "42", 0, 100) == 42, "cli_int");
	CHECK(cli_int("-n", "-3", -5, 5) == -3, "negative");
	CHECK(cli_real("--lr", "0.25", 0, 1) == 0.25, "cli_real");
}

static void test_command_line(void)
{
	char *argv[] = {"cnn-train", "--arch", "conv 8 3; relu", "-o", "m.tnz", "", "it's",
	                "a=b,c/d.tnz"};
	char *s = cli_command_line(8, argv);
	CHECK(strcmp(s, "cnn-train --arch 'conv 8 3; relu' -o m.tnz '' 'it'\\''s' a=b,c/d.tnz") == 0,
	      "got: %s", s);
	free(s);
	s = cli_command_line(0, argv);
	CHECK(strcmp(s, "") == 0, "no arguments");
	free(s);
}

int main(void)
{
	RUN(test_messages);
	RUN(test_numbers);
	RUN(test_command_line);
	return check_summary();
}
