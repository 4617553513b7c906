/* cnnkit/learn.h: what turns layers into a trainable network: random numbers,
 * initialisers, activations, softmax, dropout, batch normalisation, losses,
 * optimisers, gradient clipping and learning-rate schedules.
 *
 * Kernel conventions (as in llm.c):
 * - Arguments: outputs, then what is saved for backward, then inputs and
 *   weights, then dimensions. Dimensions are int, offsets size_t.
 * - A backward ADDS into its gradient buffers (dinp += ...); the caller zeroes
 *   them once per step. The exception is a loss backward, which starts the
 *   backward pass and therefore WRITES its gradient.
 * - Nothing here allocates, prints or fails; preconditions are asserts.
 * - Results are bit-identical for a given input, whatever the thread count:
 *   parallel loops only split independent outputs, and every reduction runs in
 *   a fixed order that does not depend on the number of threads.
 */
#ifndef CNNKIT_LEARN_H
#define CNNKIT_LEARN_H

#include <stddef.h>
#include <stdint.h>

/* ---- Random numbers (lib/rng.c) ----------------------------------------
 *
 * ck_rng is xoshiro256** (Blackman and Vigna), seeded by running splitmix64
 * from the seed, so any 64-bit seed (0 included) gives a good state. Same seed,
 * same stream, on every machine. */
typedef struct ck_rng {
	uint64_t s[4];
} ck_rng;

void ck_rng_seed(ck_rng *rng, uint64_t seed);
/* The next 64 random bits. */
uint64_t ck_rng_u64(ck_rng *rng);
/* Uniform in [0, 1): the top 24 bits of one draw times 2^-24, so every value
 * is an exact float and 1 is never returned. */
float ck_rng_uniform(ck_rng *rng);
/* Standard normal (mean 0, sd 1) by Box-Muller in double; each call uses
 * exactly two draws, so the stream position does not depend on history. */
float ck_rng_normal(ck_rng *rng);
/* Unbiased integer in [0, n), n > 0, by rejection: draws below 2^64 mod n
 * are redrawn, so every residue is equally likely. */
uint64_t ck_rng_below(ck_rng *rng, uint64_t n);
/* Shuffles idx[0..n) in place (Fisher-Yates, from the end): every
 * permutation is equally likely. */
void ck_rng_shuffle(ck_rng *rng, int64_t *idx, int64_t n);

/* Stateless, counter-based random numbers: the value depends only on
 * (seed, counter), so element i of a dropout mask can be made by any thread.
 * ck_hash_u64 is the splitmix64 output for position counter of the stream
 * keyed by the (mixed) seed; ck_hash_uniform maps its top 24 bits to [0, 1)
 * as ck_rng_uniform does. */
uint64_t ck_hash_u64(uint64_t seed, uint64_t counter);
float ck_hash_uniform(uint64_t seed, uint64_t counter);

/* ---- Initialisers (lib/init.c) ------------------------------------------
 *
 * Fans: a dense weight (OUT,IN) has fan_in = IN, fan_out = OUT; a conv
 * weight (OC,C,KH,KW) has fan_in = C*KH*KW, fan_out = OC*KH*KW (C per group).
 * Each fills n floats from rng, in order. */

/* w ~ U(-bound, bound). */
void ck_init_uniform(float *w, size_t n, float bound, ck_rng *rng);
/* w ~ N(0, sd^2). */
void ck_init_normal(float *w, size_t n, float sd, ck_rng *rng);
/* PyTorch's default for nn.Linear and nn.Conv*d, weight AND bias:
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)). For the weight this is
 * kaiming_uniform_(a=sqrt(5)): gain sqrt(2/(1+a^2)) = sqrt(1/3), bound
 * gain*sqrt(3/fan_in) = 1/sqrt(fan_in); for the bias PyTorch uses that bound
 * directly. */
void ck_init_torch_default(float *w, size_t n, int64_t fan_in, ck_rng *rng);
/* He/Kaiming normal for ReLU (mode fan_in): N(0, 2/fan_in). */
void ck_init_kaiming_normal(float *w, size_t n, int64_t fan_in, ck_rng *rng);
/* He/Kaiming uniform for ReLU (mode fan_in): U(-b, b), b = sqrt(6/fan_in). */
void ck_init_kaiming_uniform(float *w, size_t n, int64_t fan_in, ck_rng *rng);
/* Glorot/Xavier uniform: U(-b, b), b = sqrt(6/(fan_in + fan_out)). */
void ck_init_glorot_uniform(float *w, size_t n, int64_t fan_in,
                            int64_t fan_out, ck_rng *rng);

/* ---- Activations (lib/activation.c) -------------------------------------
 *
 * Elementwise over n floats. Every backward works from the forward OUTPUT,
 * so the forward may run in place (out == inp) and only out need be kept.
 * Partial overlap of out and inp is not allowed. */

/* out = max(x, 0). Backward: dinp += dout * (out > 0) (gradient 0 at x = 0,
 * as PyTorch). */
void ck_relu_forward(float *out, const float *inp, size_t n);
void ck_relu_backward(float *dinp, const float *dout, const float *out, size_t n);
/* out = x > 0 ? x : alpha*x, alpha >= 0 (so out > 0 exactly when x > 0).
 * Backward: dinp += dout * (out > 0 ? 1 : alpha). */
void ck_leaky_relu_forward(float *out, const float *inp, size_t n, float alpha);
void ck_leaky_relu_backward(float *dinp, const float *dout, const float *out,
                            size_t n, float alpha);
/* out = 1/(1+exp(-x)), computed without overflow for any x.
 * Backward: dinp += dout * out * (1 - out). */
void ck_sigmoid_forward(float *out, const float *inp, size_t n);
void ck_sigmoid_backward(float *dinp, const float *dout, const float *out, size_t n);
/* out = tanh(x). Backward: dinp += dout * (1 - out^2). */
void ck_tanh_forward(float *out, const float *inp, size_t n);
void ck_tanh_backward(float *dinp, const float *dout, const float *out, size_t n);

/* ---- Softmax over rows (lib/softmax.c) ----------------------------------
 *
 * inp (N,K) -> out (N,K): out[n,k] = exp(x[n,k] - max_k x) / sum_k(...),
 * stable for any finite logits; in place allowed.
 * Backward from the output: dinp[n,k] += y[n,k] * (dout[n,k] - sum_j dout[n,j] y[n,j]). */
void ck_softmax_forward(float *out, const float *inp, int N, int K);
void ck_softmax_backward(float *dinp, const float *dout, const float *out,
                         int N, int K);

/* ---- Dropout, inverted (lib/dropout.c) ----------------------------------
 *
 * Training only; at inference the layer is the identity and this is not
 * called. Element i is dropped when ck_hash_uniform(seed, counter_base + i)
 * < p, so the mask depends only on (seed, counter_base, i): the same for any
 * thread count, and a batch can be split anywhere if counter_base advances by
 * the elements already done. mask (n) is written with 0 for a dropped element
 * and 1/(1-p) for a kept one, and kept for backward; out = inp * mask.
 * 0 <= p <= 1 (p = 1 drops everything). out == inp allowed.
 * Backward: dinp += dout * mask. */
void ck_dropout_forward(float *out, float *mask, const float *inp, size_t n,
                        float p, uint64_t seed, uint64_t counter_base);
void ck_dropout_backward(float *dinp, const float *dout, const float *mask,
                         size_t n);

/* ---- Batch normalisation over channels (lib/batchnorm.c) ----------------
 *
 * inp, out (N,C,S) with S = H*W for images, S = 1 for dense features (N,C);
 * gamma, beta, mean, rstd, running_mean, running_var (C). M = N*S values per
 * channel. Statistics are summed in double, in a fixed order per channel.
 *
 * Train mode, as PyTorch's BatchNorm*d.train():
 *   mean_c = sum x / M,  var_c = sum (x - mean_c)^2 / M  (biased),
 *   rstd_c = 1 / sqrt(var_c + eps),  out = (x - mean_c) * rstd_c * gamma_c + beta_c;
 *   mean and rstd are saved for backward; then
 *   running_mean = (1-momentum) * running_mean + momentum * mean_c,
 *   running_var  = (1-momentum) * running_var  + momentum * var_c * M/(M-1)
 *   (the UNBIASED variance; when M == 1 the biased one, which is 0).
 * running_mean and running_var may both be NULL (no tracking). gamma and beta
 * may be NULL (no affine: 1 and 0). PyTorch defaults: momentum 0.1, eps 1e-5. */
#define CK_BN_MOMENTUM 0.1f
#define CK_BN_EPS 1e-5f

void ck_batchnorm_forward_train(float *out, float *mean, float *rstd,
                                float *running_mean, float *running_var,
                                const float *inp, const float *gamma,
                                const float *beta, int N, int C, int S,
                                float momentum, float eps);
/* Inference: out = (x - running_mean) / sqrt(running_var + eps) * gamma + beta. */
void ck_batchnorm_forward_infer(float *out, const float *inp, const float *gamma,
                                const float *beta, const float *running_mean,
                                const float *running_var, int N, int C, int S,
                                float eps);
/* Backward of the train-mode forward, from its saved mean and rstd. With
 * xhat = (x - mean) * rstd and sums over the M values of a channel:
 *   dbeta  += sum dout,   dgamma += sum dout * xhat,
 *   dinp   += gamma * rstd * (dout - sum(dout)/M - xhat * sum(dout*xhat)/M).
 * gamma may be NULL (taken as 1); dinp, dgamma and dbeta may be NULL (not
 * wanted: that part of the work is skipped). */
void ck_batchnorm_backward(float *dinp, float *dgamma, float *dbeta,
                           const float *dout, const float *inp,
                           const float *gamma, const float *mean,
                           const float *rstd, int N, int C, int S);

/* ---- Losses (lib/loss.c) ------------------------------------------------
 *
 * Each forward returns the MEAN loss as a double (sums in double). Each
 * backward WRITES (does not add) the gradient of that mean into dpred or
 * dlogits: it is the first step of the backward pass. */

/* Mean squared error: pred, target (N,K); loss = sum (pred - target)^2 / (N*K);
 * dpred = 2 (pred - target) / (N*K). */
double ck_mse_forward(const float *pred, const float *target, int N, int K);
void ck_mse_backward(float *dpred, const float *pred, const float *target,
                     int N, int K);

/* Binary cross-entropy on logits z (N,K) with targets t (N,K) in [0,1]:
 * loss = sum (max(z,0) - z*t + log1p(exp(-|z|))) / (N*K), finite for any
 * finite z; dlogits = (sigmoid(z) - t) / (N*K). */
double ck_bce_logits_forward(const float *logits, const float *target, int N, int K);
void ck_bce_logits_backward(float *dlogits, const float *logits,
                            const float *target, int N, int K);

/* Categorical cross-entropy fused with softmax: logits (N,K), labels (N)
 * class ids in [0,K) (validated by the caller). Writes probs (N,K) =
 * softmax(logits), saved for backward; loss = sum_n (logsumexp(z_n) -
 * z_n[label_n]) / N with a max-shifted log-sum-exp, finite for any finite
 * logits. dlogits = (probs - onehot(labels)) / N. */
double ck_cce_forward(float *probs, const float *logits, const int32_t *labels,
                      int N, int K);
void ck_cce_backward(float *dlogits, const float *probs, const int32_t *labels,
                     int N, int K);

/* Predictions: argmax of each row of scores (N,K) into pred (N); ties go to
 * the lowest index and NaNs are never chosen over a number. */
void ck_argmax_rows(int32_t *pred, const float *scores, int N, int K);
/* How many rows of scores (N,K) have their argmax equal to labels (N). */
int64_t ck_count_correct(const float *scores, const int32_t *labels, int N, int K);

/* ---- Optimisers (lib/optim.c) -------------------------------------------
 *
 * One step over a flat parameter array, following PyTorch 1.13's
 * torch.optim (single-tensor path, dampening 0, no amsgrad, no maximize).
 * g is the gradient, wd the weight decay, t the 1-based step number, and
 * m, v the state arrays (n floats each, ck_optim_state_count() of them; the
 * others may be NULL). Element by element:
 *
 *   SGD:       g' = g + wd*p;                     p -= lr * g'
 *   MOMENTUM:  g' = g + wd*p;  m = (t == 1) ? g' : mu*m + g';  p -= lr * m
 *   NESTEROV:  as MOMENTUM, then p -= lr * (g' + mu*m)
 *   ADAM:      g' = g + wd*p                    (L2 decay, through the moments)
 *              m = b1*m + (1-b1)*g';  v = b2*v + (1-b2)*g'^2
 *              p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
 *   ADAMW:     p *= 1 - lr*wd                    (decoupled decay, first)
 *              then ADAM with g' = g.
 *
 * The momentum buffer needs no initialisation (step 1 writes it); Adam's m
 * and v must start at zero. Scalar coefficients (1 - b1, lr/(1-b1^t), ...)
 * are computed in double and rounded to float once, as PyTorch passes them
 * to its float kernels; the elementwise arithmetic is in float. */
typedef enum ck_optim_kind {
	CK_OPTIM_SGD,
	CK_OPTIM_MOMENTUM,
	CK_OPTIM_NESTEROV,
	CK_OPTIM_ADAM,
	CK_OPTIM_ADAMW,
} ck_optim_kind;

/* Hyperparameters are doubles, like PyTorch's Python floats: 1 - beta2 must
 * come from 0.999, not from 0.999f. */
typedef struct ck_optim_config {
	ck_optim_kind kind;
	double momentum;     /* mu, MOMENTUM and NESTEROV */
	double beta1, beta2; /* ADAM, ADAMW */
	double eps;          /* ADAM, ADAMW */
	double weight_decay; /* wd, every kind */
	int threads;         /* threads of one step; 0: OpenMP's default (the result
	                        does not depend on it: every update is elementwise) */
} ck_optim_config;

/* PyTorch's defaults for a kind: momentum 0.9 (PyTorch has none; 0.9 is the
 * usual choice), beta1 0.9, beta2 0.999, eps 1e-8, weight_decay 0 (0.01 for
 * ADAMW, as torch.optim.AdamW). */
ck_optim_config ck_optim_defaults(ck_optim_kind kind);
/* How many state arrays of n floats the kind needs: SGD 0, MOMENTUM and
 * NESTEROV 1 (m), ADAM and ADAMW 2 (m, v). */
int ck_optim_state_count(ck_optim_kind kind);
void ck_optim_step(const ck_optim_config *cfg, float lr, int64_t t, float *param,
                   const float *grad, float *m, float *v, size_t n);

/* ---- Gradient-norm clipping (lib/optim.c) --------------------------------
 *
 * For clipping to max_norm across several arrays, as
 * torch.nn.utils.clip_grad_norm_:
 *   double ss = 0; for each array: ss += ck_grad_sumsq(g, n, threads);
 *   float s = ck_clip_coef(ss, max_norm); if (s < 1) for each array: ck_scale(g, n, s, threads);
 * threads: as ck_optim_config's (0 = OpenMP's default team); arrays under
 * 32,768 floats are done on the calling thread. */

/* sum g^2 in double, summed in a fixed order independent of the thread count. */
double ck_grad_sumsq(const float *g, size_t n, int threads);
/* min(1, max_norm / (sqrt(sumsq) + 1e-6)). */
float ck_clip_coef(double sumsq, double max_norm);
/* g *= s. */
void ck_scale(float *g, size_t n, float s, int threads);

/* ---- Learning-rate schedules (lib/schedule.c) -----------------------------
 *
 * lr as a function of the 0-based step (the step about to be taken; steps
 * count whatever the caller counts: batches or epochs). With W = warmup_steps,
 * base = base_lr and s = step - W:
 *
 *   step < W:   base * (step + 1) / W            (linear warm-up, any kind)
 *   CONSTANT:   base
 *   STEP:       base * gamma^floor(s / step_size)          (torch StepLR)
 *   COSINE:     T = total_steps - W;
 *               min_lr + (base - min_lr) * (1 + cos(pi * s / T)) / 2 for s < T,
 *               min_lr for s >= T     (torch CosineAnnealingLR, T_max = T,
 *               eta_min = min_lr, except that torch would rise again past T).
 *
 * So total_steps counts the warm-up, and the schedule after the warm-up starts
 * where PyTorch's does at its step 0. Computed in double. */
typedef enum ck_lr_kind {
	CK_LR_CONSTANT,
	CK_LR_STEP,
	CK_LR_COSINE,
} ck_lr_kind;

typedef struct ck_lr_schedule {
	ck_lr_kind kind;
	float base_lr;
	int64_t warmup_steps; /* 0: no warm-up */
	int64_t step_size;    /* STEP: > 0 */
	float gamma;          /* STEP: decay factor */
	int64_t total_steps;  /* COSINE: steps in the whole run, warm-up included */
	float min_lr;         /* COSINE: floor */
} ck_lr_schedule;

float ck_lr_at(const ck_lr_schedule *s, int64_t step);

#endif
