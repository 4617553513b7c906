/* test_plot_log.c: the log reader of lossplot (lib/plot_log.c). */
#include "cnnkit.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Parses text from an exact-size copy, so that ASan sees any overread. */
static ck_plot_table *parse(const char *text, ck_err *e)
{
	size_t n = strlen(text);
	char *copy = malloc(n ? n : 1);
	memcpy(copy, text, n);
	ck_plot_table *t = ck_plot_table_parse(copy, n, e);
	free(copy);
	return t;
}

static double cell(const ck_plot_table *t, const char *col, size_t row)
{
	int c = ck_plot_table_find(t, col);
	return c < 0 || row >= t->nrows ? -12345 : t->cols[c].v[row];
}

static void test_tsv(void)
{
	ck_err e = {{0}};
	ck_plot_table *t = parse("epoch\tstep\tloss\tval_loss\n"
	                         "0.5\t47\t1.25\t\n"
	                         "1.0000\t94\t0.75\t0.8125\n", &e);
	CHECK(t != NULL, "%s", e.msg);
	if (!t)
		return;
	CHECK(t->delim == '\t' && t->ncols == 4 && t->nrows == 2, "shape %zu x %zu", t->ncols,
	      t->nrows);
	CHECK(strcmp(t->cols[3].name, "val_loss") == 0, "name %s", t->cols[3].name);
	CHECK(cell(t, "epoch", 0) == 0.5 && cell(t, "step", 1) == 94 && cell(t, "loss", 1) == 0.75,
	      "values");
	CHECK(isnan(cell(t, "val_loss", 0)) && cell(t, "val_loss", 1) == 0.8125, "empty cell is NaN");
	CHECK(t->cols[3].nonfinite == 0 && t->cols[3].nonnumeric == 0, "an empty cell is no warning");
	CHECK(t->ragged == 0, "no ragged line");
	ck_plot_table_free(t);
}

static void test_csv(void)
{
	ck_err e = {{0}};
	/* A BOM, quoted names, CRLF, spaces, comments, blank lines, no final newline. */
	ck_plot_table *t = parse("\xEF\xBB\xBF\"step\", \"a,b\" ,loss\r\n"
	                         "# a comment\r\n"
	                         "\r\n"
	                         "1, \"2\" , 3e-1\r\n"
	                         "  2,4,\"\"\"x\"\"\"", &e);
	CHECK(t != NULL, "%s", e.msg);
	if (!t)
		return;
	CHECK(t->delim == ',' && t->ncols == 3 && t->nrows == 2, "shape %zu x %zu", t->ncols,
	      t->nrows);
	CHECK(ck_plot_table_find(t, "step") == 0 && ck_plot_table_find(t, "a,b") == 1,
	      "quoted names: %s, %s", t->cols[0].name, t->cols[1].name);
	CHECK(cell(t, "a,b", 0) == 2 && cell(t, "loss", 0) == 0.3 && cell(t, "step", 1) == 2,
	      "values");
	CHECK(isnan(cell(t, "loss", 1)) && t->cols[2].nonnumeric == 1 &&
	      t->cols[2].first_nonnumeric == 5, "a quoted word is not a number (line %ld)",
	      t->cols[2].first_nonnumeric);
	char names[64];
	CHECK(strcmp(ck_plot_table_names(t, names, sizeof names), "step, a,b, loss") == 0, "%s",
	      names);
	ck_plot_table_free(t);
}

static void test_bad_cells(void)
{
	ck_err e = {{0}};
	ck_plot_table *t = parse("step\tloss\tacc\n"
	                         "1\tnan\t0.5\n"
	                         "2\tinf\tx\n"
	                         "3\t-Infinity\t0.7\n"
	                         "4\t0.5\n"            /* line 5: short */
	                         "5\t0.4\t0.8\t9\n"    /* line 6: long */
	                         "step\tloss\tacc\n"   /* a resumed run's header */
	                         "6\t0.3\t0.5e\n", &e);
	CHECK(t != NULL, "%s", e.msg);
	if (!t)
		return;
	CHECK(t->nrows == 4, "rows %zu", t->nrows);
	CHECK(t->cols[1].nonfinite == 3 && isnan(cell(t, "loss", 0)) && isnan(cell(t, "loss", 2)),
	      "nan and inf counted and left out: %zu", t->cols[1].nonfinite);
	CHECK(t->cols[2].nonnumeric == 2 && t->cols[2].first_nonnumeric == 3,
	      "non-numeric cells %zu, first on line %ld", t->cols[2].nonnumeric,
	      t->cols[2].first_nonnumeric);
	CHECK(t->ragged == 2 && t->ragged_lines[0] == 5 && t->ragged_lines[1] == 6,
	      "ragged lines %zu: %ld %ld", t->ragged, t->ragged_lines[0], t->ragged_lines[1]);
	CHECK(cell(t, "step", 3) == 6 && cell(t, "loss", 3) == 0.3, "the row after the header");
	ck_plot_table_free(t);

	/* More ragged lines than are reported: the count stays exact. */
	char text[4096] = "a\tb\n";
	for (int i = 0; i < 20; i++)
		strcat(text, "1\n");
	strcat(text, "1\t2\n");
	t = parse(text, &e);
	CHECK(t && t->ragged == 20 && t->ragged_lines[CK_PLOT_MAX_REPORTED - 1] ==
	      CK_PLOT_MAX_REPORTED + 1 && t->nrows == 1, "many ragged lines");
	ck_plot_table_free(t);
}

static void test_empty(void)
{
	ck_err e = {{0}};
	CHECK(parse("", &e) == NULL && strstr(e.msg, "no header"), "empty: %s", e.msg);
	CHECK(parse("\n\n# only a comment\n", &e) == NULL && strstr(e.msg, "no header"), "%s",
	      e.msg);
	CHECK(parse("step\tloss\n", &e) == NULL && strstr(e.msg, "no data rows"), "%s", e.msg);
	CHECK(parse("step\tloss\n1\n2\n", &e) == NULL && strstr(e.msg, "wrong number"), "%s",
	      e.msg);
	/* A header of one column (no delimiter) is a CSV of one column. */
	ck_plot_table *t = parse("loss\n1\n2\n", &e);
	CHECK(t && t->ncols == 1 && t->nrows == 2 && cell(t, "loss", 1) == 2, "one column");
	ck_plot_table_free(t);
	/* Empty header cells get a name. */
	t = parse("\tloss\n1\t2\n", &e);
	CHECK(t && strcmp(t->cols[0].name, "column 1") == 0, "unnamed column");
	ck_plot_table_free(t);
}

/* Feeding a log in pieces of every size gives the table a whole parse gives;
 * an incomplete last line waits for the rest. */
static void test_feed(void)
{
	const char *text = "step\tloss\tval_loss\n1\t0.5\t\n2\t0.25\t0.75\n3\tnan\t\n4\t1e-3\t2\n";
	size_t n = strlen(text);
	ck_err e = {{0}};
	ck_plot_table *whole = parse(text, &e);
	CHECK(whole != NULL, "%s", e.msg);
	if (!whole)
		return;
	for (size_t piece = 1; piece <= n; piece++) {
		ck_plot_table *t = ck_plot_table_new();
		char pending[256];
		size_t have = 0, fed = 0;
		int ok = 1;
		while (fed < n && ok) {
			size_t k = n - fed < piece ? n - fed : piece;
			memcpy(pending + have, text + fed, k);
			have += k;
			fed += k;
			int64_t used = ck_plot_table_feed(t, pending, have, 0, &e);
			ok = used >= 0;
			if (ok) {
				memmove(pending, pending + used, have - (size_t)used);
				have -= (size_t)used;
			}
		}
		ok = ok && have == 0 && t->nrows == whole->nrows;
		for (size_t c = 0; ok && c < 3; c++)
			for (size_t r = 0; r < whole->nrows; r++) {
				double a = t->cols[c].v[r], b = whole->cols[c].v[r];
				ok = ok && (a == b || (isnan(a) && isnan(b)));
			}
		CHECK(ok, "pieces of %zu bytes", piece);
		ck_plot_table_free(t);
	}
	ck_plot_table_free(whole);

	ck_plot_table *t = ck_plot_table_new();
	CHECK(ck_plot_table_feed(t, "a\tb\n1\t2", 8, 0, &e) == 4 && t->nrows == 0,
	      "an incomplete line waits");
	CHECK(ck_plot_table_feed(t, "1\t2", 3, 1, &e) == 3 && t->nrows == 1,
	      "and is read when final");
	ck_plot_table_free(t);
}

/* The fast number path gives exactly what strtod gives. */
static void test_numbers(void)
{
	static const char *cases[] = {
		"0", "-0", "1", "+2", "0.1", "0.30000000000000004", "123456789012345678",
		"1234567890123456789", "9007199254740993", "1e22", "1e23", "1.5e-7", "2.5E+3",
		"4.9e-324", "1.7976931348623157e308", ".5", "5.", "0.000123456", "-3.14159265358979",
		"00012", "1e-22", "123.456e-20",
	};
	int bad = 0;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char text[128];
		snprintf(text, sizeof text, "v\n%s\n", cases[i]);
		ck_err e = {{0}};
		ck_plot_table *t = parse(text, &e);
		double want = strtod(cases[i], NULL);
		if (!t || memcmp(&t->cols[0].v[0], &want, sizeof want) != 0) {
			printf("# %s: got %.17g, want %.17g\n", cases[i], t ? t->cols[0].v[0] : NAN, want);
			bad++;
		}
		ck_plot_table_free(t);
	}
	/* Random decimals of up to 17 digits, as %.*g writes them. */
	uint64_t state = 12345;
	char text[64];
	for (int i = 0; i < 20000; i++) {
		state = state * 6364136223846793005ull + 1442695040888963407ull;
		double v = (double)(state >> 11) / (double)(1ull << 53) * pow(10, (int)(state % 21) - 10);
		snprintf(text, sizeof text, "v\n%.*g\n", 1 + (int)(state >> 60), v);
		ck_plot_table *t = ck_plot_table_parse(text, strlen(text), NULL);
		double want = strtod(text + 2, NULL);
		if (!t || memcmp(&t->cols[0].v[0], &want, sizeof want) != 0)
			bad++;
		ck_plot_table_free(t);
	}
	CHECK(bad == 0, "%d numbers read differently from strtod", bad);
	ck_err e = {{0}};
	ck_plot_table *t = parse("v\n1e\n-\n.\n0x\n1..2\n--1\n", &e);
	CHECK(t && t->cols[0].nonnumeric == 6, "not numbers: %zu", t ? t->cols[0].nonnumeric : 0);
	ck_plot_table_free(t);
}

static void test_default_y(void)
{
	CHECK(ck_plot_default_y("loss") && ck_plot_default_y("val_acc") &&
	      ck_plot_default_y("top5_accuracy"), "loss and acc columns");
	CHECK(!ck_plot_default_y("step") && !ck_plot_default_y("lr") && !ck_plot_default_y("epoch"),
	      "others");
}

int main(void)
{
	RUN(test_tsv);
	RUN(test_csv);
	RUN(test_bad_cells);
	RUN(test_empty);
	RUN(test_feed);
	RUN(test_numbers);
	RUN(test_default_y);
	return check_summary();
}
