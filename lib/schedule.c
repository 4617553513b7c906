/* schedule.c: learning rate as a function of the step (formulas in
 * cnnkit/learn.h). */
#include <assert.h>
#include <math.h>

#include "cnnkit.h"

float ck_lr_at(const ck_lr_schedule *s, int64_t step)
{
	assert(step >= 0 && s->warmup_steps >= 0);
	double base = s->base_lr;
	int64_t warm = s->warmup_steps;
	if (step < warm)
		return (float)(base * (double)(step + 1) / (double)warm);
	int64_t after = step - warm;
	switch (s->kind) {
	case CK_LR_CONSTANT:
		return (float)base;
	case CK_LR_STEP:
		assert(s->step_size > 0);
		return (float)(base * pow(s->gamma, (double)(after / s->step_size)));
	case CK_LR_COSINE: {
		int64_t T = s->total_steps - warm;
		double min = s->min_lr;
		if (after >= T)
			return (float)min;
		return (float)(min + (base - min) * (1.0 + cos(M_PI * (double)after / (double)T)) / 2.0);
	}
	}
	assert(0 && "unknown schedule kind");
	return (float)base;
}
