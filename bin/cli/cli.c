/* cli.c: messages, exit statuses, option numbers and the standard-output
 * check shared by every program (cli.h). */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cnnkit.h"

static const char *prog = "cnnkit";
static void (*prog_usage)(FILE *f);

void cli_init(const char *name, void (*short_usage)(FILE *f))
{
	prog = name;
	prog_usage = short_usage;
}

static void vmessage(const char *lead, const char *fmt, va_list ap)
{
	int e = errno;
	fprintf(stderr, "%s: %s", prog, lead);
	vfprintf(stderr, fmt, ap);
	size_t n = strlen(fmt);
	if (n && fmt[n - 1] == ':')
		fprintf(stderr, " %s", strerror(e));
	fputc('\n', stderr);
}

void errmsg(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage("", fmt, ap);
	va_end(ap);
}

void warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage("warning: ", fmt, ap);
	va_end(ap);
}

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage("", fmt, ap);
	va_end(ap);
	exit(1);
}

void usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage("", fmt, ap);
	va_end(ap);
	if (prog_usage)
		prog_usage(stderr);
	exit(2);
}

int64_t cli_int(const char *opt, const char *text, int64_t lo, int64_t hi)
{
	int64_t v;
	if (ck_parse_i64(text, lo, hi, &v) < 0)
		usage_error("%s \"%s\": expected an integer from %" PRId64 " to %" PRId64, opt, text,
		            lo, hi);
	return v;
}

double cli_real(const char *opt, const char *text, double lo, double hi)
{
	double v;
	if (ck_parse_f64(text, lo, hi, &v) < 0)
		usage_error("%s \"%s\": expected a number from %g to %g", opt, text, lo, hi);
	return v;
}

/* Whether a shell takes s as one word, unchanged. */
static int plain_word(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_-./:=,+@%", *s))
			return 0;
	return 1;
}

char *cli_command_line(int argc, char **argv)
{
	size_t len = 1;
	for (int i = 0; i < argc; i++)
		len += 4 * strlen(argv[i]) + 3; /* each ' becomes '\'' */
	char *s = malloc(len), *p = s;
	if (!s)
		die("out of memory");
	for (int i = 0; i < argc; i++) {
		if (i)
			*p++ = ' ';
		if (plain_word(argv[i])) {
			p = stpcpy(p, argv[i]);
			continue;
		}
		*p++ = '\'';
		for (const char *a = argv[i]; *a; a++) {
			if (*a == '\'')
				p = stpcpy(p, "'\\''");
			else
				*p++ = *a;
		}
		*p++ = '\'';
	}
	*p = '\0';
	return s;
}

int cli_close_stdout(int status)
{
	errno = 0;
	if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0) {
		if (status == 0) {
			errno = errno ? errno : EIO;
			errmsg("write error on standard output:");
		}
		return 1;
	}
	return status;
}
