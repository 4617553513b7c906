/* test_fuzz_regress.c: replays every fuzz seed and every past crash through
 * the fuzz targets (tests/fuzz/targets.h), without libFuzzer: for each target,
 * the files of tests/fuzz/corpus/<target>/, tests/fuzz/regress/<target>/ and
 * the extra directories that tests/fuzz/seeds.txt names. A file fails when
 * its target breaks an invariant; a crash or a sanitizer report ends the
 * binary, which tests/run.sh counts as a failure. */
#include "../fuzz/targets.h"

#include "check.h"

#include <dirent.h>
#include <sys/stat.h>

#define MAX_FILE (4u << 20) /* seeds are small; bigger files are skipped */

static unsigned char *slurp(const char *path, size_t *len)
{
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_FILE)
		return NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	unsigned char *b = malloc((size_t)st.st_size + 1);
	*len = b ? fread(b, 1, (size_t)st.st_size, f) : 0;
	fclose(f);
	return b;
}

/* Runs every regular file of dir (if it exists) through t; returns how many. */
static int replay_dir(const fuzz_target *t, const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int count = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		size_t len = 0;
		unsigned char *data = slurp(path, &len);
		if (!data)
			continue;
		int line = t->run(data, len);
		CHECK(line == 0, "%s: fuzz_%s broke the invariant at targets.h:%d", path, t->name,
		      line);
		free(data);
		count++;
	}
	closedir(d);
	return count;
}

/* Runs t over its corpus, its regression inputs and its seeds.txt directories. */
static void replay(const fuzz_target *t)
{
	char dir[512];
	snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", t->name);
	int count = replay_dir(t, dir);
	snprintf(dir, sizeof dir, "tests/fuzz/regress/%s", t->name);
	count += replay_dir(t, dir);

	FILE *f = fopen("tests/fuzz/seeds.txt", "r");
	CHECK(f != NULL, "tests/fuzz/seeds.txt cannot be read");
	char line[600], name[64], extra[512];
	while (f && fgets(line, sizeof line, f))
		if (line[0] != '#' && sscanf(line, "%63s %511s", name, extra) == 2 &&
		    strcmp(name, t->name) == 0)
			count += replay_dir(t, extra);
	if (f)
		fclose(f);
	CHECK(count > 0, "no seed file at all for fuzz_%s", t->name);
}

#define REPLAY(target)                                                         \
	static void replay_##target(void)                                          \
	{                                                                          \
		for (size_t i = 0; i < sizeof fuzz_targets / sizeof fuzz_targets[0]; i++) \
			if (strcmp(fuzz_targets[i].name, #target) == 0)                    \
				replay(&fuzz_targets[i]);                                      \
	}

REPLAY(tnz)
REPLAY(arch)
REPLAY(npy)
REPLAY(npz)
REPLAY(idx)
REPLAY(csv)
REPLAY(png)
REPLAY(jpeg)
REPLAY(pnm)
REPLAY(plotlog)
REPLAY(tokenize)
REPLAY(vocab)
REPLAY(embed)

int main(void)
{
	RUN(replay_tnz);
	RUN(replay_arch);
	RUN(replay_npy);
	RUN(replay_npz);
	RUN(replay_idx);
	RUN(replay_csv);
	RUN(replay_png);
	RUN(replay_jpeg);
	RUN(replay_pnm);
	RUN(replay_plotlog);
	RUN(replay_tokenize);
	RUN(replay_vocab);
	RUN(replay_embed);
	return check_summary();
}
