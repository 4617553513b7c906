/* image_list.c: lists of image files (directories walked in sorted order)
 * and their class labels (from directory names or a TSV file). */
#include "image_internal.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define MAX_DEPTH 64 /* nested directories */

static int list_push(ck_image_list *l, const char *path, ck_err *err)
{
	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		char **p = realloc(l->paths, cap * sizeof *p);
		if (p)
			l->paths = p;
		int32_t *y = p ? realloc(l->labels, cap * sizeof *y) : NULL;
		if (!y)
			return ck_err_set(err, "out of memory");
		l->labels = y;
		l->cap = cap;
	}
	char *s = strdup(path);
	if (!s)
		return ck_err_set(err, "out of memory");
	l->paths[l->count] = s;
	l->labels[l->count++] = -1;
	return 0;
}

static int has_image_extension(const char *name)
{
	static const char *const ext[] = {"png", "jpg", "jpeg", "jpe", "jfif",
	                                  "pbm", "pgm", "ppm", "pnm"};
	const char *dot = strrchr(name, '.');
	if (!dot)
		return 0;
	for (size_t i = 0; i < sizeof ext / sizeof *ext; i++)
		if (strcasecmp(dot + 1, ext[i]) == 0)
			return 1;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct dir_id {
	dev_t dev;
	ino_t ino;
} dir_id;

static int walk(ck_image_list *l, const char *dir, dir_id *stack, int depth, ck_err *err)
{
	DIR *d = opendir(dir);
	if (!d)
		return ck_err_set(err, "%s: %s", dir, strerror(errno));
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	struct dirent *e;
	errno = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue; /* ., .. and hidden files */
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **p = realloc(names, cap * sizeof *p);
			if (!p) {
				rc = ck_err_set(err, "out of memory");
				break;
			}
			names = p;
		}
		if (!(names[n] = strdup(e->d_name))) {
			rc = ck_err_set(err, "out of memory");
			break;
		}
		n++;
		errno = 0;
	}
	if (rc == 0 && errno)
		rc = ck_err_set(err, "%s: %s", dir, strerror(errno));
	closedir(d);
	if (rc == 0)
		qsort(names, n, sizeof *names, cmp_str);
	size_t dlen = strlen(dir);
	int slash = dlen > 0 && dir[dlen - 1] == '/';
	for (size_t i = 0; i < n && rc == 0; i++) {
		size_t len = dlen + 1 + strlen(names[i]) + 1;
		char *path = malloc(len);
		if (!path) {
			rc = ck_err_set(err, "out of memory");
			break;
		}
		snprintf(path, len, "%s%s%s", dir, slash ? "" : "/", names[i]);
		struct stat st;
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			int loop = 0;
			for (int k = 0; k < depth; k++)
				loop |= stack[k].dev == st.st_dev && stack[k].ino == st.st_ino;
			if (!loop && depth >= MAX_DEPTH)
				rc = ck_err_set(err, "%s: directories nested too deep", path);
			else if (!loop) {
				stack[depth] = (dir_id){st.st_dev, st.st_ino};
				rc = walk(l, path, stack, depth + 1, err);
			}
		} else if (has_image_extension(names[i])) {
			/* Unreadable entries (a broken link) are kept: reading them
			 * reports the error, or --skip-bad counts it. */
			rc = list_push(l, path, err);
		}
		free(path);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int ck_image_list_add(ck_image_list *l, const char *path, ck_err *err)
{
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		dir_id stack[MAX_DEPTH + 1];
		stack[0] = (dir_id){st.st_dev, st.st_ino};
		return walk(l, path, stack, 1, err);
	}
	return list_push(l, path, err);
}

void ck_image_list_free(ck_image_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->paths[i]);
	free(l->paths);
	free(l->labels);
	memset(l, 0, sizeof *l);
}

/* ---- classes ----------------------------------------------------------- */

void ck_image_classes_free(ck_image_classes *c)
{
	for (size_t i = 0; i < c->count; i++)
		free(c->names[i]);
	free(c->names);
	memset(c, 0, sizeof *c);
}

static int classes_push(ck_image_classes *c, const char *name, size_t len, ck_err *err)
{
	if (c->count == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		char **p = realloc(c->names, cap * sizeof *p);
		if (!p)
			return ck_err_set(err, "out of memory");
		c->names = p;
		c->cap = cap;
	}
	char *s = strndup(name, len);
	if (!s)
		return ck_err_set(err, "out of memory");
	c->names[c->count++] = s;
	return 0;
}

int ck_image_classes_parse(ck_image_classes *c, const char *text, size_t len, ck_err *err)
{
	ck_image_classes_free(c);
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		size_t n = (size_t)(e - p);
		if (n && p[n - 1] == '\r')
			n--;
		if (n == 0 || classes_push(c, p, n, err) < 0) {
			if (n == 0)
				ck_err_set(err, "classes: empty name on line %zu", c->count + 1);
			ck_image_classes_free(c);
			return -1;
		}
		p = nl ? nl + 1 : end;
	}
	for (size_t i = 0; i < c->count; i++)
		for (size_t j = i + 1; j < c->count; j++)
			if (strcmp(c->names[i], c->names[j]) == 0) {
				ck_err_set(err, "classes: \"%s\" appears twice", c->names[i]);
				ck_image_classes_free(c);
				return -1;
			}
	return 0;
}

char *ck_image_classes_join(const ck_image_classes *c, size_t *len)
{
	size_t n = 0;
	for (size_t i = 0; i < c->count; i++)
		n += strlen(c->names[i]) + 1;
	char *s = malloc(n + 1), *p = s;
	if (!s)
		return NULL;
	for (size_t i = 0; i < c->count; i++) {
		size_t k = strlen(c->names[i]);
		memcpy(p, c->names[i], k);
		p[k] = '\n';
		p += k + 1;
	}
	*p = '\0';
	if (len)
		*len = n;
	return s;
}

/* Sorts the names and removes duplicates. */
static void classes_sort_unique(ck_image_classes *c)
{
	qsort(c->names, c->count, sizeof *c->names, cmp_str);
	size_t k = 0;
	for (size_t i = 0; i < c->count; i++) {
		if (k && strcmp(c->names[k - 1], c->names[i]) == 0)
			free(c->names[i]);
		else
			c->names[k++] = c->names[i];
	}
	c->count = k;
}

static int32_t class_index(const ck_image_classes *c, const char *name)
{
	for (size_t i = 0; i < c->count; i++)
		if (strcmp(c->names[i], name) == 0)
			return (int32_t)i;
	return -1;
}

/* Sorted classes give ids by binary search. */
static int32_t class_find_sorted(const ck_image_classes *c, const char *name)
{
	char *const *hit = bsearch(&name, c->names, c->count, sizeof *c->names, cmp_str);
	return hit ? (int32_t)(hit - c->names) : -1;
}

/* The name of the directory holding path, into buf (cap bytes). */
static int parent_name(const char *path, char *buf, size_t cap, ck_err *err)
{
	const char *slash = strrchr(path, '/');
	const char *start = path;
	size_t len = 0;
	if (slash) {
		const char *e = slash;
		while (e > path && e[-1] == '/')
			e--;
		start = e;
		while (start > path && start[-1] != '/')
			start--;
		len = (size_t)(e - start);
	}
	if (len == 0 || (len == 1 && start[0] == '.') || (len == 2 && !strncmp(start, "..", 2))) {
		/* "a.png", "./a.png", "../a.png", "/a.png": ask the file system. */
		char dir[PATH_MAX], real[PATH_MAX];
		size_t dlen = slash ? (size_t)(slash - path) : 0;
		if (dlen >= sizeof dir)
			return ck_err_set(err, "%s: path too long", path);
		memcpy(dir, slash ? path : ".", slash ? dlen : 1);
		dir[slash ? dlen : 1] = '\0';
		if (slash && dlen == 0)
			strcpy(dir, "/");
		if (!realpath(dir, real))
			return ck_err_set(err, "%s: %s", path, strerror(errno));
		const char *b = strrchr(real, '/');
		start = b ? b + 1 : real;
		len = strlen(start);
		if (len == 0)
			return ck_err_set(err, "%s: no parent directory to name a class", path);
	}
	if (len >= cap)
		return ck_err_set(err, "%s: directory name too long", path);
	memcpy(buf, start, len);
	buf[len] = '\0';
	return 0;
}

int ck_image_label_by_dir(ck_image_list *l, ck_image_classes *c, int fixed, ck_err *err)
{
	char name[NAME_MAX + 1];
	if (!fixed) {
		ck_image_classes_free(c);
		for (size_t i = 0; i < l->count; i++)
			if (parent_name(l->paths[i], name, sizeof name, err) < 0 ||
			    classes_push(c, name, strlen(name), err) < 0)
				return -1;
		classes_sort_unique(c);
	}
	for (size_t i = 0; i < l->count; i++) {
		if (parent_name(l->paths[i], name, sizeof name, err) < 0)
			return -1;
		l->labels[i] = fixed ? class_index(c, name) : class_find_sorted(c, name);
		if (l->labels[i] < 0)
			return ck_err_set(err, "%s: class \"%s\" is not in the class list", l->paths[i],
			                  name);
	}
	return 0;
}

/* ---- labels from a TSV file -------------------------------------------- */

typedef struct tsv_entry {
	char *key;   /* realpath of the image */
	char *class_name;
} tsv_entry;

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const tsv_entry *)a)->key, ((const tsv_entry *)b)->key);
}

int ck_image_label_by_tsv(ck_image_list *l, ck_image_classes *c, int fixed,
                          const char *tsv_path, ck_err *err)
{
	void *buf;
	size_t len;
	if (ck_image_read_file(tsv_path, &buf, &len, err) < 0)
		return ck_err_prefix(err, "%s", tsv_path);
	const char *slash = strrchr(tsv_path, '/');
	size_t dlen = slash ? (size_t)(slash - tsv_path) + 1 : 0; /* with the '/' */
	tsv_entry *ents = NULL;
	size_t n = 0, cap = 0, line = 0;
	int rc = 0;
	if (!fixed)
		ck_image_classes_free(c);
	char *p = buf, *end = p + len;
	while (p < end && rc == 0) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *e = nl ? nl : end;
		line++;
		if (e > p && e[-1] == '\r')
			e--;
		*e = '\0'; /* e < end, or the buffer's spare byte (read_file allocates one more) */
		char *tab = strchr(p, '\t');
		if (e == p) {
			p = nl ? nl + 1 : end;
			continue;
		}
		if (!tab || tab == p || tab[1] == '\0' || strchr(tab + 1, '\t')) {
			rc = ck_err_set(err, "%s:%zu: expected path<TAB>class", tsv_path, line);
			break;
		}
		*tab = '\0';
		char joined[PATH_MAX], real[PATH_MAX];
		int n_ = snprintf(joined, sizeof joined, "%.*s%s", p[0] == '/' ? 0 : (int)dlen,
		                  tsv_path, p);
		if (n_ < 0 || (size_t)n_ >= sizeof joined) {
			rc = ck_err_set(err, "%s:%zu: path too long", tsv_path, line);
			break;
		}
		p = nl ? nl + 1 : end;
		if (!fixed && (rc = classes_push(c, tab + 1, strlen(tab + 1), err)) < 0)
			break;
		if (!realpath(joined, real))
			continue; /* a file not there cannot be asked for */
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			tsv_entry *ne = realloc(ents, cap * sizeof *ne);
			if (!ne) {
				rc = ck_err_set(err, "out of memory");
				break;
			}
			ents = ne;
		}
		ents[n].key = strdup(real);
		ents[n].class_name = strdup(tab + 1);
		if (!ents[n].key || !ents[n].class_name) {
			free(ents[n].key);
			free(ents[n].class_name);
			rc = ck_err_set(err, "out of memory");
			break;
		}
		n++;
	}
	if (rc == 0) {
		qsort(ents, n, sizeof *ents, cmp_entry);
		for (size_t i = 1; i < n && rc == 0; i++)
			if (!strcmp(ents[i - 1].key, ents[i].key) &&
			    strcmp(ents[i - 1].class_name, ents[i].class_name))
				rc = ck_err_set(err, "%s: %s has two classes, %s and %s", tsv_path,
				                ents[i].key, ents[i - 1].class_name, ents[i].class_name);
	}
	if (rc == 0 && !fixed)
		classes_sort_unique(c);
	for (size_t i = 0; i < l->count && rc == 0; i++) {
		char real[PATH_MAX];
		tsv_entry probe = {real, NULL}, *hit = NULL;
		if (realpath(l->paths[i], real))
			hit = bsearch(&probe, ents, n, sizeof *ents, cmp_entry);
		if (!hit) {
			rc = ck_err_set(err, "%s: no label in %s", l->paths[i], tsv_path);
			break;
		}
		l->labels[i] = fixed ? class_index(c, hit->class_name)
		                     : class_find_sorted(c, hit->class_name);
		if (l->labels[i] < 0)
			rc = ck_err_set(err, "%s: class \"%s\" is not in the class list", l->paths[i],
			                hit->class_name);
	}
	for (size_t i = 0; i < n; i++) {
		free(ents[i].key);
		free(ents[i].class_name);
	}
	free(ents);
	free(buf);
	return rc;
}
