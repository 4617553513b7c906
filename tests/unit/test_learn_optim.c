/* test_learn_optim.c: optimiser steps against an independent double-precision
 * transcription of PyTorch 1.13's update rules, hand-worked first steps,
 * minimising a quadratic, AdamW vs Adam, thread-independence, clipping. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cnnkit.h"
#include "check.h"

enum { P = 4, STEPS = 5 };

static const float P0[P] = { 1.0f, -2.0f, 0.5f, 0.0f };
/* A fixed gradient per step (not derived from p: the rules are elementwise). */
static const float G[STEPS][P] = {
	{ 0.1f, -0.2f, 0.3f, 0.0f },
	{ -0.05f, 0.4f, 0.1f, 1e-3f },
	{ 0.2f, 0.0f, -0.3f, -2.0f },
	{ 0.0f, 0.1f, 0.1f, 0.5f },
	{ 1.0f, -1.0f, 0.25f, 0.0f },
};

/* PyTorch 1.13 torch.optim, single-tensor path, transcribed in double:
 * sgd.py _single_tensor_sgd (dampening 0), adam.py _single_tensor_adam,
 * adamw.py _single_tensor_adamw. */
static void reference(ck_optim_kind kind, double lr, double mu, double b1,
                      double b2, double eps, double wd, double p[P])
{
	double buf[P] = { 0 }, m[P] = { 0 }, v[P] = { 0 };
	for (int i = 0; i < P; i++)
		p[i] = P0[i];
	for (int t = 1; t <= STEPS; t++) {
		for (int i = 0; i < P; i++) {
			double d = G[t - 1][i];
			if (kind == CK_OPTIM_ADAMW) {
				p[i] *= 1 - lr * wd;
			} else {
				d += wd * p[i];
			}
			if (kind == CK_OPTIM_SGD) {
				p[i] -= lr * d;
			} else if (kind == CK_OPTIM_MOMENTUM || kind == CK_OPTIM_NESTEROV) {
				buf[i] = t == 1 ? d : mu * buf[i] + d;
				p[i] -= lr * (kind == CK_OPTIM_NESTEROV ? d + mu * buf[i] : buf[i]);
			} else {
				m[i] = b1 * m[i] + (1 - b1) * d;
				v[i] = b2 * v[i] + (1 - b2) * d * d;
				double step_size = lr / (1 - pow(b1, t));
				double denom = sqrt(v[i]) / sqrt(1 - pow(b2, t)) + eps;
				p[i] -= step_size * m[i] / denom;
			}
		}
	}
}

static void run(const ck_optim_config *cfg, float lr, float p[P])
{
	float m[P], v[P];
	memset(m, 0, sizeof m);
	memset(v, 0, sizeof v);
	memcpy(p, P0, sizeof P0);
	for (int t = 1; t <= STEPS; t++)
		ck_optim_step(cfg, lr, t, p, G[t - 1], m, v, P);
}

static void test_against_reference(void)
{
	const char *names[] = { "sgd", "momentum", "nesterov", "adam", "adamw" };
	const double wds[] = { 0.0, 0.1 };
	for (ck_optim_kind k = CK_OPTIM_SGD; k <= CK_OPTIM_ADAMW; k++) {
		for (int w = 0; w < 2; w++) {
			ck_optim_config cfg = ck_optim_defaults(k);
			cfg.weight_decay = wds[w];
			float lr = k >= CK_OPTIM_ADAM ? 0.01f : 0.1f;
			float p[P];
			double want[P];
			run(&cfg, lr, p);
			reference(k, lr, cfg.momentum, cfg.beta1, cfg.beta2, cfg.eps,
			          cfg.weight_decay, want);
			for (int i = 0; i < P; i++)
				CHECK_NEAR(p[i], want[i], 2e-6, "%s wd=%g p[%d]", names[k], wds[w], i);
		}
	}
}

/* First steps worked by hand. */
static void test_hand_worked(void)
{
	float p, g, m, v;
	ck_optim_config cfg = ck_optim_defaults(CK_OPTIM_SGD);
	cfg.weight_decay = 0.1;
	/* g' = 0.5 + 0.1*1 = 0.6; p = 1 - 0.1*0.6 */
	p = 1.0f, g = 0.5f;
	ck_optim_step(&cfg, 0.1f, 1, &p, &g, NULL, NULL, 1);
	CHECK_NEAR(p, 0.94, 1e-7, "sgd with weight decay");

	/* Momentum 0.9, lr 0.1, g = 1 twice: buf 1 then 1.9; p = 1 - 0.1 - 0.19. */
	cfg = ck_optim_defaults(CK_OPTIM_MOMENTUM);
	p = 1.0f, g = 1.0f, m = 123.0f; /* garbage: step 1 overwrites the buffer */
	ck_optim_step(&cfg, 0.1f, 1, &p, &g, &m, NULL, 1);
	CHECK_NEAR(m, 1.0, 0, "momentum buffer starts at g");
	ck_optim_step(&cfg, 0.1f, 2, &p, &g, &m, NULL, 1);
	CHECK_NEAR(p, 0.71, 1e-7, "momentum two steps");

	/* Nesterov: step 1 moves by g + mu*g = 1.9; step 2 by 1 + 0.9*1.9 = 2.71. */
	cfg = ck_optim_defaults(CK_OPTIM_NESTEROV);
	p = 1.0f, g = 1.0f;
	ck_optim_step(&cfg, 0.1f, 1, &p, &g, &m, NULL, 1);
	CHECK_NEAR(p, 0.81, 1e-7, "nesterov step 1");
	ck_optim_step(&cfg, 0.1f, 2, &p, &g, &m, NULL, 1);
	CHECK_NEAR(p, 0.81 - 0.271, 1e-7, "nesterov step 2");

	/* Adam's first step is lr * g / (|g| + eps) ~ lr * sign(g). */
	cfg = ck_optim_defaults(CK_OPTIM_ADAM);
	p = 1.0f, g = -0.5f, m = 0.0f, v = 0.0f;
	ck_optim_step(&cfg, 0.01f, 1, &p, &g, &m, &v, 1);
	CHECK_NEAR(p, 1.01, 1e-7, "adam first step");
	CHECK_NEAR(m, -0.05, 1e-7, "adam m");
	CHECK_NEAR(v, 0.00025, 1e-9, "adam v");

	CHECK(ck_optim_state_count(CK_OPTIM_SGD) == 0 && ck_optim_state_count(CK_OPTIM_MOMENTUM) == 1 &&
	      ck_optim_state_count(CK_OPTIM_NESTEROV) == 1 && ck_optim_state_count(CK_OPTIM_ADAM) == 2 &&
	      ck_optim_state_count(CK_OPTIM_ADAMW) == 2, "state counts");
}

/* AdamW is Adam without L2, after p *= 1 - lr*wd: bit for bit. */
static void test_adamw_is_decoupled(void)
{
	ck_optim_config adamw = ck_optim_defaults(CK_OPTIM_ADAMW);
	adamw.weight_decay = 0.05;
	ck_optim_config adam = ck_optim_defaults(CK_OPTIM_ADAM);
	ck_optim_config adam_l2 = adam;
	adam_l2.weight_decay = 0.05;
	float lr = 0.01f, decay = (float)(1.0 - (double)lr * adamw.weight_decay);
	float pa[P], pb[P], pc[P], ma[P] = { 0 }, va[P] = { 0 }, mb[P] = { 0 }, vb[P] = { 0 };
	float mc[P] = { 0 }, vc[P] = { 0 };
	memcpy(pa, P0, sizeof P0);
	memcpy(pb, P0, sizeof P0);
	memcpy(pc, P0, sizeof P0);
	for (int t = 1; t <= STEPS; t++) {
		ck_optim_step(&adamw, lr, t, pa, G[t - 1], ma, va, P);
		for (int i = 0; i < P; i++)
			pb[i] *= decay;
		ck_optim_step(&adam, lr, t, pb, G[t - 1], mb, vb, P);
		ck_optim_step(&adam_l2, lr, t, pc, G[t - 1], mc, vc, P);
	}
	CHECK(memcmp(pa, pb, sizeof pa) == 0 && memcmp(ma, mb, sizeof ma) == 0 &&
	      memcmp(va, vb, sizeof va) == 0, "adamw = decay then adam");
	CHECK(memcmp(pa, pc, sizeof pa) != 0, "adam's L2 decay is not adamw's");
}

/* Every kind, wd 0, minimises f(p) = sum a_i (p_i - c_i)^2 / 2. */
static void test_quadratic(void)
{
	enum { Q = 6 };
	const float a[Q] = { 1.0f, 0.5f, 2.0f, 0.1f, 1.5f, 0.8f };
	const float c[Q] = { 3.0f, -1.0f, 0.5f, 2.0f, -2.5f, 0.0f };
	const float lrs[] = { 0.5f, 0.1f, 0.1f, 0.05f, 0.05f };
	for (ck_optim_kind k = CK_OPTIM_SGD; k <= CK_OPTIM_ADAMW; k++) {
		ck_optim_config cfg = ck_optim_defaults(k);
		cfg.weight_decay = 0.0;
		float p[Q] = { 0 }, g[Q], m[Q] = { 0 }, v[Q] = { 0 };
		/* Cosine-anneal Adam so it settles instead of hovering at ~lr. */
		ck_lr_schedule sched = { .kind = CK_LR_COSINE, .base_lr = lrs[k],
		                         .total_steps = 1000, .min_lr = 0.0f };
		for (int t = 1; t <= 1000; t++) {
			for (int i = 0; i < Q; i++)
				g[i] = a[i] * (p[i] - c[i]);
			ck_optim_step(&cfg, ck_lr_at(&sched, t - 1), t, p, g, m, v, Q);
		}
		double err = 0;
		for (int i = 0; i < Q; i++)
			err = fmax(err, fabs(p[i] - c[i]));
		CHECK(err < 1e-3, "kind %d: max |p - c| = %g", k, err);
	}
}

/* A large array (parallel path) gives the same bits as small slices (serial
 * path): the update is elementwise, whatever the thread count. */
static void test_parallel_same_bits(void)
{
	size_t n = 100000, slice = 1000;
	float *p1 = malloc(n * sizeof(float)), *p2 = malloc(n * sizeof(float));
	float *g = malloc(n * sizeof(float)), *m1 = calloc(n, sizeof(float));
	float *v1 = calloc(n, sizeof(float)), *m2 = calloc(n, sizeof(float));
	float *v2 = calloc(n, sizeof(float));
	for (size_t i = 0; i < n; i++) {
		p1[i] = p2[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
		g[i] = (float)((i * 13) % 29) / 14.0f - 1.0f;
	}
	for (ck_optim_kind k = CK_OPTIM_SGD; k <= CK_OPTIM_ADAMW; k++) {
		ck_optim_config cfg = ck_optim_defaults(k);
		cfg.weight_decay = 0.01;
		for (int t = 1; t <= 3; t++) {
			ck_optim_step(&cfg, 0.01f, t, p1, g, m1, v1, n);
			for (size_t s = 0; s < n; s += slice)
				ck_optim_step(&cfg, 0.01f, t, p2 + s, g + s, m2 + s, v2 + s, slice);
		}
		CHECK(memcmp(p1, p2, n * sizeof(float)) == 0, "kind %d", k);
	}
	free(p1), free(p2), free(g), free(m1), free(v1), free(m2), free(v2);
}

static void test_clipping(void)
{
	size_t n = 100003;
	float *g = malloc(n * sizeof *g);
	double want = 0;
	for (size_t i = 0; i < n; i++) {
		g[i] = (float)((int)(i % 17) - 8) * 0.125f;
		want += (double)g[i] * g[i];
	}
	double one = ck_grad_sumsq(g, n, 1);
	CHECK_NEAR(one, want, 1e-14, "sum of squares");
	/* The same bits on any team: the chunks are summed in a fixed order. */
	CHECK(ck_grad_sumsq(g, n, 2) == one && ck_grad_sumsq(g, n, 3) == one &&
	      ck_grad_sumsq(g, n, 0) == one, "sum of squares, any thread count");
	CHECK(ck_grad_sumsq(g, 0, 0) == 0.0, "empty");
	float three_four[2] = { 3.0f, 4.0f };
	double ss = ck_grad_sumsq(three_four, 2, 0);
	CHECK(ss == 25.0, "3-4-5");
	CHECK_NEAR(ck_clip_coef(ss, 1.0), 1.0 / (5.0 + 1e-6), 1e-7, "clip to norm 1");
	CHECK(ck_clip_coef(ss, 10.0) == 1.0f, "no clipping below max_norm");
	ck_scale(three_four, 2, 0.2f, 1);
	CHECK_NEAR(three_four[0], 0.6, 1e-7, "scaled");
	CHECK_NEAR(three_four[1], 0.8, 1e-7, "scaled");
	free(g);
}

int main(void)
{
	RUN(test_against_reference);
	RUN(test_hand_worked);
	RUN(test_adamw_is_decoupled);
	RUN(test_quadratic);
	RUN(test_parallel_same_bits);
	RUN(test_clipping);
	return check_summary();
}
