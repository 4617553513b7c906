/* optim.c: one optimiser step over a flat parameter array (PyTorch 1.13
 * semantics, formulas in cnnkit/learn.h), and gradient-norm clipping. */
#include <assert.h>
#include <math.h>

#include "cnnkit.h"
#include "threads_internal.h"

#define PARALLEL_MIN (1 << 15)
/* ck_grad_sumsq sums this many fixed chunks, so the order of additions
 * depends on n only, never on the number of threads. */
#define SUMSQ_CHUNKS 64

/* The team of one elementwise loop over n floats: one thread below
 * PARALLEL_MIN, else the configured count (0: OpenMP's default). */
static inline int team(int threads, size_t n)
{
	return n < PARALLEL_MIN ? 1 : ck_threads_or_default(threads);
}

ck_optim_config ck_optim_defaults(ck_optim_kind kind)
{
	ck_optim_config c = {
		.kind = kind,
		.momentum = 0.9,
		.beta1 = 0.9,
		.beta2 = 0.999,
		.eps = 1e-8,
		.weight_decay = kind == CK_OPTIM_ADAMW ? 0.01 : 0.0,
	};
	return c;
}

int ck_optim_state_count(ck_optim_kind kind)
{
	switch (kind) {
	case CK_OPTIM_SGD:
		return 0;
	case CK_OPTIM_MOMENTUM:
	case CK_OPTIM_NESTEROV:
		return 1;
	case CK_OPTIM_ADAM:
	case CK_OPTIM_ADAMW:
		return 2;
	}
	assert(0 && "unknown optimiser kind");
	return 0;
}

static void sgd_step(int threads, float lr, float wd, float *p, const float *g, size_t n)
{
#pragma omp parallel for num_threads(team(threads, n)) schedule(static)
	for (size_t i = 0; i < n; i++)
		p[i] -= lr * (g[i] + wd * p[i]);
}

/* Heavy-ball momentum (PyTorch's form: the buffer sums raw gradients and lr
 * multiplies the buffer), optionally with the Nesterov look-ahead. */
static void momentum_step(int threads, float lr, float wd, float mu, int nesterov, int first,
                          float *p, const float *g, float *m, size_t n)
{
#pragma omp parallel for num_threads(team(threads, n)) schedule(static)
	for (size_t i = 0; i < n; i++) {
		float gi = g[i] + wd * p[i];
		float buf = first ? gi : mu * m[i] + gi;
		m[i] = buf;
		p[i] -= lr * (nesterov ? gi + mu * buf : buf);
	}
}

/* Adam with bias correction; wd is L2 decay added to the gradient (0 for
 * AdamW, whose decoupled decay is applied before). */
static void adam_step(const ck_optim_config *cfg, float lr, float wd, int64_t t,
                      float *p, const float *g, float *m, float *v, size_t n)
{
	double b1 = cfg->beta1, b2 = cfg->beta2;
	float step_size = (float)(lr / (1.0 - pow(b1, (double)t)));
	float bc2_sqrt = (float)sqrt(1.0 - pow(b2, (double)t));
	float fb1 = (float)b1, fb2 = (float)b2, eps = (float)cfg->eps;
	float one_b1 = (float)(1.0 - b1), one_b2 = (float)(1.0 - b2);
#pragma omp parallel for num_threads(team(cfg->threads, n)) schedule(static)
	for (size_t i = 0; i < n; i++) {
		float gi = g[i] + wd * p[i];
		float mi = fb1 * m[i] + one_b1 * gi;
		float vi = fb2 * v[i] + one_b2 * (gi * gi);
		m[i] = mi;
		v[i] = vi;
		/* PyTorch's order of operations, so roundings match its kernels. */
		p[i] -= step_size * (mi / (sqrtf(vi) / bc2_sqrt + eps));
	}
}

void ck_optim_step(const ck_optim_config *cfg, float lr, int64_t t, float *param,
                   const float *grad, float *m, float *v, size_t n)
{
	assert(t >= 1);
	float wd = (float)cfg->weight_decay;
	switch (cfg->kind) {
	case CK_OPTIM_SGD:
		sgd_step(cfg->threads, lr, wd, param, grad, n);
		break;
	case CK_OPTIM_MOMENTUM:
	case CK_OPTIM_NESTEROV:
		assert(m);
		momentum_step(cfg->threads, lr, wd, (float)cfg->momentum, cfg->kind == CK_OPTIM_NESTEROV,
		              t == 1, param, grad, m, n);
		break;
	case CK_OPTIM_ADAM:
		assert(m && v);
		adam_step(cfg, lr, wd, t, param, grad, m, v, n);
		break;
	case CK_OPTIM_ADAMW: {
		assert(m && v);
		float decay = (float)(1.0 - (double)lr * cfg->weight_decay);
		if (decay != 1.0f) {
#pragma omp parallel for num_threads(team(cfg->threads, n)) schedule(static)
			for (size_t i = 0; i < n; i++)
				param[i] *= decay;
		}
		adam_step(cfg, lr, 0.0f, t, param, grad, m, v, n);
		break;
	}
	}
}

double ck_grad_sumsq(const float *g, size_t n, int threads)
{
	double part[SUMSQ_CHUNKS];
	size_t chunk = (n + SUMSQ_CHUNKS - 1) / SUMSQ_CHUNKS;
#pragma omp parallel for num_threads(team(threads, n)) schedule(static)
	for (int c = 0; c < SUMSQ_CHUNKS; c++) {
		size_t lo = c * chunk, hi = lo + chunk < n ? lo + chunk : n;
		double s = 0.0;
		for (size_t i = lo; i < hi; i++)
			s += (double)g[i] * g[i];
		part[c] = s;
	}
	double sum = 0.0;
	for (int c = 0; c < SUMSQ_CHUNKS; c++)
		sum += part[c];
	return sum;
}

float ck_clip_coef(double sumsq, double max_norm)
{
	double coef = max_norm / (sqrt(sumsq) + 1e-6);
	return coef < 1.0 ? (float)coef : 1.0f;
}

void ck_scale(float *g, size_t n, float s, int threads)
{
#pragma omp parallel for num_threads(team(threads, n)) schedule(static)
	for (size_t i = 0; i < n; i++)
		g[i] *= s;
}
