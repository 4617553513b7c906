/* loss.c: mean losses and their gradients. Forwards sum in double, serially,
 * so the loss is the same for any thread count; backwards WRITE their
 * gradient (they start the backward pass). */
#include <math.h>

#include "cnnkit.h"

/* pred, target, dpred (N,K). */
double ck_mse_forward(const float *pred, const float *target, int N, int K)
{
	size_t n = (size_t)N * K;
	double sum = 0.0;
	for (size_t i = 0; i < n; i++) {
		double d = (double)pred[i] - target[i];
		sum += d * d;
	}
	return sum / (double)n;
}

void ck_mse_backward(float *dpred, const float *pred, const float *target,
                     int N, int K)
{
	size_t n = (size_t)N * K;
	float scale = (float)(2.0 / (double)n);
	for (size_t i = 0; i < n; i++)
		dpred[i] = scale * (pred[i] - target[i]);
}

/* logits, target, dlogits (N,K). */
double ck_bce_logits_forward(const float *logits, const float *target, int N, int K)
{
	size_t n = (size_t)N * K;
	double sum = 0.0;
	for (size_t i = 0; i < n; i++) {
		/* log(1 + exp(z)) - z*t, rewritten so that exp never overflows
		 * and log1p keeps precision when exp(-|z|) is tiny. */
		double z = logits[i], t = target[i];
		sum += fmax(z, 0.0) - z * t + log1p(exp(-fabs(z)));
	}
	return sum / (double)n;
}

void ck_bce_logits_backward(float *dlogits, const float *logits,
                            const float *target, int N, int K)
{
	size_t n = (size_t)N * K;
	float scale = (float)(1.0 / (double)n);
	for (size_t i = 0; i < n; i++) {
		float z = logits[i];
		float e = expf(-fabsf(z));
		float sig = z >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
		dlogits[i] = scale * (sig - target[i]);
	}
}

/* logits, probs (N,K), labels (N). */
double ck_cce_forward(float *probs, const float *logits, const int32_t *labels,
                      int N, int K)
{
	double total = 0.0;
	for (int n = 0; n < N; n++) {
		const float *z = logits + (size_t)n * K;
		float *p = probs + (size_t)n * K;
		float max = -INFINITY;
		for (int k = 0; k < K; k++)
			max = fmaxf(max, z[k]);
		double sum = 0.0;
		for (int k = 0; k < K; k++) {
			p[k] = expf(z[k] - max);
			sum += p[k];
		}
		float scale = (float)(1.0 / sum);
		for (int k = 0; k < K; k++)
			p[k] *= scale;
		/* -log softmax(z)[label] = log(sum) - (z[label] - max), without
		 * taking the log of a probability that may have underflowed. */
		total += log(sum) - ((double)z[labels[n]] - max);
	}
	return total / N;
}

void ck_cce_backward(float *dlogits, const float *probs, const int32_t *labels,
                     int N, int K)
{
	float scale = 1.0f / (float)N;
	for (int n = 0; n < N; n++) {
		size_t row = (size_t)n * K;
		for (int k = 0; k < K; k++)
			dlogits[row + k] = scale * probs[row + k];
		dlogits[row + labels[n]] = scale * (probs[row + labels[n]] - 1.0f);
	}
}

static int32_t argmax_row(const float *x, int K)
{
	int32_t best = 0;
	/* Skip leading NaNs: any number beats NaN; then only a strictly larger
	 * value replaces the best, so ties keep the lowest index. */
	while (best < K - 1 && isnan(x[best]))
		best++;
	for (int k = best + 1; k < K; k++)
		if (x[k] > x[best])
			best = k;
	return best;
}

void ck_argmax_rows(int32_t *pred, const float *scores, int N, int K)
{
	for (int n = 0; n < N; n++)
		pred[n] = argmax_row(scores + (size_t)n * K, K);
}

int64_t ck_count_correct(const float *scores, const int32_t *labels, int N, int K)
{
	int64_t correct = 0;
	for (int n = 0; n < N; n++)
		correct += argmax_row(scores + (size_t)n * K, K) == labels[n];
	return correct;
}
