/* test_learn_schedule.c: learning rates at the boundaries of warm-up, StepLR
 * and cosine annealing, against the formulas written out here. */
#include <math.h>

#include "cnnkit.h"
#include "check.h"

static void test_constant_with_warmup(void)
{
	ck_lr_schedule s = { .kind = CK_LR_CONSTANT, .base_lr = 0.1f, .warmup_steps = 4 };
	CHECK_NEAR(ck_lr_at(&s, 0), 0.025, 1e-8, "warm-up step 0: base/4");
	CHECK_NEAR(ck_lr_at(&s, 1), 0.05, 1e-8, "warm-up step 1");
	CHECK(ck_lr_at(&s, 3) == 0.1f, "last warm-up step reaches base");
	CHECK(ck_lr_at(&s, 4) == 0.1f && ck_lr_at(&s, 1000000) == 0.1f, "then constant");
	s.warmup_steps = 0;
	CHECK(ck_lr_at(&s, 0) == 0.1f, "no warm-up");
}

/* torch StepLR(step_size=3, gamma=0.5): base * 0.5^(step // 3). */
static void test_step(void)
{
	ck_lr_schedule s = { .kind = CK_LR_STEP, .base_lr = 0.2f, .step_size = 3, .gamma = 0.5f };
	CHECK(ck_lr_at(&s, 0) == 0.2f && ck_lr_at(&s, 2) == 0.2f, "first period");
	CHECK(ck_lr_at(&s, 3) == 0.1f && ck_lr_at(&s, 5) == 0.1f, "second period");
	CHECK(ck_lr_at(&s, 6) == 0.05f, "third period");
	CHECK_NEAR(ck_lr_at(&s, 30), 0.2 * pow(0.5, 10), 1e-9, "step 30");
	/* With warm-up, the periods count from its end. */
	s.warmup_steps = 2;
	CHECK(ck_lr_at(&s, 0) == 0.1f, "warm-up 1/2");
	CHECK(ck_lr_at(&s, 1) == 0.2f && ck_lr_at(&s, 4) == 0.2f, "first period after warm-up");
	CHECK(ck_lr_at(&s, 5) == 0.1f, "decay 3 steps after warm-up");
}

/* torch CosineAnnealingLR(T_max=100, eta_min=0.01) on base 0.1. */
static void test_cosine(void)
{
	ck_lr_schedule s = { .kind = CK_LR_COSINE, .base_lr = 0.1f, .total_steps = 100,
	                     .min_lr = 0.01f };
	CHECK(ck_lr_at(&s, 0) == 0.1f, "cosine at 0 is base");
	CHECK_NEAR(ck_lr_at(&s, 50), 0.055, 1e-8, "cosine at T/2 is the midpoint");
	CHECK_NEAR(ck_lr_at(&s, 25), 0.01 + 0.09 * (1 + cos(M_PI / 4)) / 2, 1e-8, "cosine at T/4");
	CHECK_NEAR(ck_lr_at(&s, 99), 0.01 + 0.09 * (1 + cos(M_PI * 0.99)) / 2, 1e-8, "cosine at T-1");
	CHECK(ck_lr_at(&s, 100) == 0.01f, "cosine at T is min_lr");
	CHECK(ck_lr_at(&s, 150) == 0.01f, "held at min_lr after T");
	/* 10 warm-up steps in a 110-step run: the cosine spans the last 100. */
	s.warmup_steps = 10;
	s.total_steps = 110;
	CHECK_NEAR(ck_lr_at(&s, 0), 0.01, 1e-8, "warm-up start");
	CHECK(ck_lr_at(&s, 9) == 0.1f, "warm-up end");
	CHECK(ck_lr_at(&s, 10) == 0.1f, "cosine starts at base");
	CHECK_NEAR(ck_lr_at(&s, 60), 0.055, 1e-8, "midpoint of the cosine");
	CHECK(ck_lr_at(&s, 110) == 0.01f, "end of the run");
}

int main(void)
{
	RUN(test_constant_with_warmup);
	RUN(test_step);
	RUN(test_cosine);
	return check_summary();
}
