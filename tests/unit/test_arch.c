/* test_arch.c: the architecture language: shapes, parameter counts and names
 * of hand-computed networks, every error message, the canonical form's round
 * trip, and random and mutated text that must never crash the parser. */
#include "cnnkit.h"
#include "check.h"

#include <stdint.h>
#include <string.h>

/* Parses and infers spec for one input shape; 0 or -1 with the message in err. */
static int build(ck_arch *a, const char *spec, int rank, int64_t d0, int64_t d1, int64_t d2,
                 int64_t vocab, ck_err *err)
{
	int64_t shape[3] = {d0, d1, d2};
	if (ck_arch_parse(spec, a, err) < 0)
		return -1;
	if (ck_arch_infer(a, shape, rank, vocab, err) < 0) {
		ck_arch_free(a);
		return -1;
	}
	return 0;
}

static int shape_is(const ck_arch_shape *s, int rank, int64_t d0, int64_t d1, int64_t d2)
{
	const int64_t d[3] = {d0, d1, d2};
	if (s->rank != rank)
		return 0;
	for (int i = 0; i < rank; i++)
		if (s->dim[i] != d[i])
			return 0;
	return 1;
}

static const ck_arch_param *find_param(const ck_arch *a, const char *name)
{
	for (int i = 0; i < a->nparams; i++)
		if (strcmp(a->params[i].name, name) == 0)
			return &a->params[i];
	return NULL;
}

static int param_is(const ck_arch *a, const char *name, int rank, int64_t d0, int64_t d1,
                    int64_t d2, int64_t d3)
{
	const ck_arch_param *p = find_param(a, name);
	const int64_t d[4] = {d0, d1, d2, d3};
	if (!p || p->rank != rank)
		return 0;
	int64_t count = 1;
	for (int i = 0; i < rank; i++) {
		if (p->shape[i] != d[i])
			return 0;
		count *= d[i];
	}
	return p->count == count;
}

#define REFERENCE "conv 32 3 pad=same relu; maxpool 2; conv 64 3 pad=same relu; maxpool 2; " \
                  "dense 128 relu; dense 10"

static void test_reference_network(void)
{
	ck_arch a;
	ck_err e = {""};
	CHECK(build(&a, REFERENCE, 3, 1, 28, 28, 0, &e) == 0, "%s", e.msg);
	if (!a.inferred)
		return;
	CHECK(a.total_params == 421642, "total %lld", (long long)a.total_params);
	CHECK(a.trainable_params == 421642, "trainable %lld", (long long)a.trainable_params);
	CHECK(a.nlayers == 6 && a.nparams == 8, "%d layers, %d params", a.nlayers, a.nparams);
	CHECK(shape_is(&a.layers[0].out, 3, 32, 28, 28), "conv 1");
	CHECK(shape_is(&a.layers[1].out, 3, 32, 14, 14), "pool 1");
	CHECK(shape_is(&a.layers[2].out, 3, 64, 14, 14), "conv 2");
	CHECK(shape_is(&a.layers[3].out, 3, 64, 7, 7), "pool 2");
	CHECK(shape_is(&a.layers[4].out, 1, 128, 0, 0), "dense 1");
	CHECK(shape_is(&a.layers[5].out, 1, 10, 0, 0), "dense 2");
	CHECK(a.layers[4].dense.in == 3136, "dense flattens (64,7,7): in %lld",
	      (long long)a.layers[4].dense.in);
	const ck_arch_conv *c = &a.layers[0].conv;
	CHECK(c->pad_top == 1 && c->pad_left == 1 && c->pad_bottom == 1 && c->pad_right == 1 &&
	          c->oh == 28 && c->ow == 28 && c->c == 1,
	      "same padding of a 3x3 kernel");
	CHECK(c->act.kind == CK_ARCH_ACT_RELU, "conv activation");
	CHECK(param_is(&a, "0.conv.weight", 4, 32, 1, 3, 3), "0.conv.weight");
	CHECK(param_is(&a, "0.conv.bias", 1, 32, 0, 0, 0), "0.conv.bias");
	CHECK(param_is(&a, "2.conv.weight", 4, 64, 32, 3, 3), "2.conv.weight");
	CHECK(param_is(&a, "4.dense.weight", 2, 128, 3136, 0, 0), "4.dense.weight");
	CHECK(param_is(&a, "5.dense.bias", 1, 10, 0, 0, 0), "5.dense.bias");
	CHECK(a.layers[4].param_count == 401536 && a.layers[4].first_param == 4 &&
	          a.layers[4].nparams == 2,
	      "dense 128 slice");
	CHECK(a.layers[1].nparams == 0 && a.layers[1].param_count == 0, "pools have none");
	CHECK(strcmp(a.layers[2].text, "conv 64 3 pad=same relu") == 0, "text '%s'",
	      a.layers[2].text);

	char *s = NULL;
	CHECK(ck_arch_summary(&a, &s) == 0 && s, "summary");
	if (s) {
		CHECK(strstr(s, "Total params: 421,642\n"), "%s", s);
		CHECK(strstr(s, "Trainable params: 421,642\n"), "%s", s);
		CHECK(strstr(s, "Non-trainable params: 0\n"), "%s", s);
		CHECK(strstr(s, "4  dense 128 relu           (128)         401,536\n"), "%s", s);
		CHECK(strstr(s, "   input                    (1,28,28)\n"), "%s", s);
		free(s);
	}
	ck_arch_free(&a);
	ck_arch_free(&a); /* twice is fine */
}

static void test_strides_and_padding(void)
{
	ck_arch a;
	ck_err e = {""};
	/* valid, stride 2: floor((32-5)/2)+1 = 14; 16*3*5*5 + 16 = 1216 */
	CHECK(build(&a, "conv 16 5 stride=2", 3, 3, 32, 32, 0, &e) == 0, "%s", e.msg);
	CHECK(shape_is(&a.layers[0].out, 3, 16, 14, 14) && a.total_params == 1216, "valid s2");
	CHECK(a.layers[0].conv.pad_top == 0 && a.layers[0].conv.pad_bottom == 0, "no padding");
	ck_arch_free(&a);

	/* same, stride 2 on 32: OH 16, total pad (16-1)*2+3-32 = 1: top 0, bottom 1 */
	CHECK(build(&a, "conv 8 3 stride=2 pad=same", 3, 3, 32, 31, 0, &e) == 0, "%s", e.msg);
	const ck_arch_conv *c = &a.layers[0].conv;
	CHECK(c->oh == 16 && c->pad_top == 0 && c->pad_bottom == 1, "rows %lld %d %d",
	      (long long)c->oh, c->pad_top, c->pad_bottom);
	/* on 31: OW 16, total pad 30+3-31 = 2: 1 and 1 */
	CHECK(c->ow == 16 && c->pad_left == 1 && c->pad_right == 1, "cols %lld %d %d",
	      (long long)c->ow, c->pad_left, c->pad_right);
	ck_arch_free(&a);

	/* same with stride larger than the kernel: total pad max(.., 0) = 0 */
	CHECK(build(&a, "conv 2 1 stride=3 pad=same", 3, 1, 10, 10, 0, &e) == 0, "%s", e.msg);
	c = &a.layers[0].conv;
	CHECK(c->oh == 4 && c->pad_top == 0 && c->pad_bottom == 0, "1x1 stride 3");
	ck_arch_free(&a);

	/* KHxKW same: pads (1,1) rows and (2,2) columns */
	CHECK(build(&a, "conv 4 3x5 pad=same bias=no", 3, 2, 10, 20, 0, &e) == 0, "%s", e.msg);
	c = &a.layers[0].conv;
	CHECK(c->kh == 3 && c->kw == 5 && c->oh == 10 && c->ow == 20 && c->pad_top == 1 &&
	          c->pad_left == 2 && c->pad_right == 2,
	      "3x5 same");
	CHECK(param_is(&a, "0.conv.weight", 4, 4, 2, 3, 5) && !find_param(&a, "0.conv.bias") &&
	          a.total_params == 120,
	      "bias=no");
	ck_arch_free(&a);

	/* explicit: pad=1x0 on (1,5,5) with 3x3: rows (5+2-3)+1 = 5, cols 3 */
	CHECK(build(&a, "conv 2 3 pad=1x0; conv 3 3 pad=2 stride=2", 3, 1, 5, 5, 0, &e) == 0, "%s",
	      e.msg);
	CHECK(shape_is(&a.layers[0].out, 3, 2, 5, 3), "pad 1x0");
	/* (5+4-3)/2+1 = 4, (3+4-3)/2+1 = 3 */
	CHECK(shape_is(&a.layers[1].out, 3, 3, 4, 3), "pad 2 stride 2");
	CHECK(a.layers[1].conv.pad_top == 2 && a.layers[1].conv.pad_right == 2, "explicit pads");
	ck_arch_free(&a);

	/* pools: odd sizes floor, stride defaults to K, KHxKW */
	CHECK(build(&a, "maxpool 2; maxpool 3 stride=2; avgpool 2x1", 3, 5, 15, 9, 0, &e) == 0,
	      "%s", e.msg);
	CHECK(shape_is(&a.layers[0].out, 3, 5, 7, 4), "maxpool 2 on 15x9");
	CHECK(shape_is(&a.layers[1].out, 3, 5, 3, 1), "maxpool 3 stride 2 on 7x4");
	CHECK(shape_is(&a.layers[2].out, 3, 5, 1, 1), "avgpool 2x1 on 3x1");
	CHECK(a.layers[2].pool.sh == 2 && a.layers[2].pool.sw == 1, "stride = K");
	ck_arch_free(&a);
}

static void test_batchnorm_and_flatten(void)
{
	ck_arch a;
	ck_err e = {""};
	/* conv 8*3*9+8 = 224; batchnorm 4*8 (16 trainable); dense 8*4+4 = 36 */
	CHECK(build(&a, "conv 8 3; batchnorm; relu; globalavgpool; dense 4 softmax", 3, 3, 10, 10,
	            0, &e) == 0,
	      "%s", e.msg);
	CHECK(a.total_params == 292 && a.trainable_params == 276, "total %lld trainable %lld",
	      (long long)a.total_params, (long long)a.trainable_params);
	CHECK(param_is(&a, "1.batchnorm.weight", 1, 8, 0, 0, 0) &&
	          param_is(&a, "1.batchnorm.bias", 1, 8, 0, 0, 0) &&
	          param_is(&a, "1.batchnorm.running_mean", 1, 8, 0, 0, 0) &&
	          param_is(&a, "1.batchnorm.running_var", 1, 8, 0, 0, 0),
	      "batchnorm params");
	const ck_arch_param *rm = find_param(&a, "1.batchnorm.running_mean");
	const ck_arch_param *w = find_param(&a, "1.batchnorm.weight");
	CHECK(rm && rm->buffer && !rm->trainable && w && !w->buffer && w->trainable, "buffers");
	const ck_arch_batchnorm *b = &a.layers[1].batchnorm;
	CHECK(b->channels == 8 && b->positions == 64 && !b->channels_last && b->eps == 1e-5 &&
	          b->momentum == 0.1,
	      "batchnorm over channels");
	CHECK(shape_is(&a.layers[3].out, 1, 8, 0, 0), "globalavgpool");
	CHECK(a.layers[4].dense.act.kind == CK_ARCH_ACT_SOFTMAX, "dense softmax");
	char *s = NULL;
	CHECK(ck_arch_summary(&a, &s) == 0 && s && strstr(s, "Non-trainable params: 16\n"), "%s",
	      s ? s : "");
	free(s);
	ck_arch_free(&a);

	/* batchnorm over features and over channels-last sequences */
	CHECK(build(&a, "dense 20; batchnorm momentum=0.01 eps=0.001", 1, 7, 0, 0, 0, &e) == 0,
	      "%s", e.msg);
	b = &a.layers[1].batchnorm;
	CHECK(b->channels == 20 && b->positions == 1 && b->eps == 0.001 && b->momentum == 0.01,
	      "features");
	ck_arch_free(&a);
	CHECK(build(&a, "batchnorm; conv1d 6 2", 2, 9, 5, 0, 0, &e) == 0, "%s", e.msg);
	b = &a.layers[0].batchnorm;
	CHECK(b->channels == 5 && b->positions == 9 && b->channels_last, "sequence");
	CHECK(param_is(&a, "1.conv1d.weight", 3, 6, 2, 5, 0) && shape_is(&a.layers[1].out, 2, 8, 6, 0),
	      "one-width conv1d");
	ck_arch_free(&a);

	/* an explicit flatten and the implicit one count the same */
	ck_arch b1, b2;
	CHECK(build(&b1, "conv 4 3; flatten; dense 5", 3, 2, 6, 6, 0, &e) == 0, "%s", e.msg);
	CHECK(build(&b2, "conv 4 3; dense 5", 3, 2, 6, 6, 0, &e) == 0, "%s", e.msg);
	CHECK(b1.total_params == b2.total_params && b1.total_params == 76 + 4 * 16 * 5 + 5,
	      "%lld vs %lld", (long long)b1.total_params, (long long)b2.total_params);
	CHECK(b1.layers[1].flatten.size == 64 && shape_is(&b1.layers[1].out, 1, 64, 0, 0), "flatten");
	ck_arch_free(&b1);
	ck_arch_free(&b2);
}

#define KIM "embedding 100 init=vectors.tnz trainable=no; conv1d 100 3,4,5 relu; " \
            "globalmaxpool; dropout 0.5; dense 2 maxnorm=3"

static void test_kim_cnn(void)
{
	ck_arch a;
	ck_err e = {""};
	CHECK(build(&a, KIM, 1, 50, 0, 0, 5000, &e) == 0, "%s", e.msg);
	if (!a.inferred)
		return;
	/* 5000*100 + (100*100*(3+4+5) + 3*100) + (300*2 + 2) */
	CHECK(a.total_params == 500000 + 120300 + 602, "total %lld", (long long)a.total_params);
	CHECK(a.trainable_params == 120902, "trainable %lld", (long long)a.trainable_params);
	const ck_arch_embedding *em = &a.layers[0].embedding;
	CHECK(em->vocab == 5000 && em->t == 50 && !em->trainable && em->init &&
	          strcmp(em->init, "vectors.tnz") == 0,
	      "embedding");
	CHECK(shape_is(&a.layers[0].out, 2, 50, 100, 0), "embedding out");
	CHECK(param_is(&a, "0.embedding.weight", 2, 5000, 100, 0, 0) &&
	          !find_param(&a, "0.embedding.weight")->trainable,
	      "frozen embedding");
	const ck_arch_conv1d *c = &a.layers[1].conv1d;
	CHECK(c->nwidths == 3 && c->out_len[0] == 48 && c->out_len[1] == 47 && c->out_len[2] == 46,
	      "branch lengths");
	CHECK(param_is(&a, "1.conv1d.weight_w3", 3, 100, 3, 100, 0) &&
	          param_is(&a, "1.conv1d.bias_w3", 1, 100, 0, 0, 0) &&
	          param_is(&a, "1.conv1d.weight_w5", 3, 100, 5, 100, 0),
	      "branch params");
	CHECK(shape_is(&a.layers[1].out, 2, -1, 300, 0), "branched out");
	const ck_arch_global_pool *g = &a.layers[2].global_pool;
	CHECK(g->branches == 3 && g->channels == 100 && g->channels_last, "pooled branches");
	CHECK(shape_is(&a.layers[2].out, 1, 300, 0, 0), "300 features");
	CHECK(a.layers[4].dense.maxnorm == 3 && shape_is(&a.layers[4].out, 1, 2, 0, 0), "dense");
	CHECK(a.layers[3].dropout.p == 0.5, "dropout");
	char *s = NULL;
	CHECK(ck_arch_summary(&a, &s) == 0 && s, "summary");
	if (s) {
		CHECK(strstr(s, "(48|47|46,100)  120,300\n"), "%s", s);
		CHECK(strstr(s, "input (token ids)"), "%s", s);
		CHECK(strstr(s, "Trainable params: 120,902\nNon-trainable params: 500,000\n"), "%s", s);
		free(s);
	}
	/* inferring again with another input replaces the table */
	int64_t t = 5;
	CHECK(ck_arch_infer(&a, &t, 1, 10, &e) == 0 && a.total_params == 1000 + 120300 + 602 &&
	          a.layers[1].conv1d.out_len[2] == 1,
	      "re-infer: %s", e.msg);
	ck_arch_free(&a);
}

static void test_residual(void)
{
	ck_arch a;
	ck_err e = {""};
	const char *spec = "conv 16 3 pad=same relu\n"
	                   "residual\n"
	                   "  conv 16 3 pad=same relu\n"
	                   "  residual; conv 16 1; end   # nested\n"
	                   "end\n"
	                   "relu; globalavgpool; dense 3\n";
	CHECK(build(&a, spec, 3, 3, 8, 8, 0, &e) == 0, "%s", e.msg);
	if (!a.inferred)
		return;
	CHECK(a.nlayers == 10, "%d layers", a.nlayers);
	CHECK(a.layers[1].kind == CK_ARCH_RESIDUAL && a.layers[1].block.match == 6 &&
	          a.layers[6].block.match == 1 && a.layers[3].block.match == 5 &&
	          a.layers[5].block.match == 3,
	      "matching");
	CHECK(shape_is(&a.layers[6].out, 3, 16, 8, 8), "block output");
	CHECK(shape_is(&a.layers[9].out, 1, 3, 0, 0), "dense");
	CHECK(param_is(&a, "4.conv.weight", 4, 16, 16, 1, 1), "inner conv");
	ck_arch_free(&a);
}

/* One error case: spec on input (rank, d...) with vocab, and the exact message. */
typedef struct error_case {
	const char *spec;
	int rank;
	int64_t d0, d1, d2, vocab;
	const char *msg;
} error_case;

static const error_case error_cases[] = {
	/* words */
	{"conv 32 3 pad=same relu; maxpool 2; conv 64 3 pad=sme", 3, 1, 28, 28, 0,
	 "layer 3 \"conv 64 3 pad=sme\": unknown padding \"sme\" (expected same, valid or a number)"},
	{"conv 32 3; maxpol 2", 3, 1, 28, 28, 0,
	 "layer 2 \"maxpol 2\": unknown layer kind \"maxpol\" (did you mean maxpool?)"},
	{"Dense 10", 1, 5, 0, 0, 0,
	 "layer 1 \"Dense 10\": unknown layer kind \"Dense\" (did you mean dense?)"},
	{"globalmaxpol", 2, 5, 5, 0, 0,
	 "layer 1 \"globalmaxpol\": unknown layer kind \"globalmaxpol\" (did you mean globalmaxpool?)"},
	{"xyzzy 3", 1, 5, 0, 0, 0,
	 "layer 1 \"xyzzy 3\": unknown layer kind \"xyzzy\" (expected one of: conv, conv1d, maxpool, "
	 "avgpool, globalmaxpool, globalavgpool, flatten, dense, embedding, batchnorm, dropout, relu, "
	 "leakyrelu, sigmoid, tanh, softmax, residual, end)"},
	{"conv 32", 3, 1, 28, 28, 0,
	 "layer 1 \"conv 32\": missing KERNEL (usage: conv FILTERS KERNEL [stride=S] "
	 "[pad=same|valid|N] [bias=yes|no] [ACTIVATION])"},
	{"dense", 1, 5, 0, 0, 0,
	 "layer 1 \"dense\": missing UNITS (usage: dense UNITS [maxnorm=X] [bias=yes|no] [ACTIVATION])"},
	{"conv 32 3 strid=2", 3, 1, 28, 28, 0,
	 "layer 1 \"conv 32 3 strid=2\": unknown option \"strid\" for conv (did you mean stride?)"},
	{"dense 5 dropout=0.5", 1, 5, 0, 0, 0,
	 "layer 1 \"dense 5 dropout=0.5\": unknown option \"dropout\" (usage: dense UNITS "
	 "[maxnorm=X] [bias=yes|no] [ACTIVATION])"},
	{"flatten x=1", 1, 5, 0, 0, 0,
	 "layer 1 \"flatten x=1\": unknown option \"x\" (flatten takes no options)"},
	{"conv 32 3 rleu", 3, 1, 28, 28, 0,
	 "layer 1 \"conv 32 3 rleu\": unexpected word \"rleu\" (did you mean relu?)"},
	{"maxpool 2 relu", 3, 1, 28, 28, 0,
	 "layer 1 \"maxpool 2 relu\": unexpected word \"relu\" (usage: maxpool K [stride=S])"},
	{"dense 10 relu tanh", 1, 5, 0, 0, 0,
	 "layer 1 \"dense 10 relu tanh\": two activations, \"relu\" and \"tanh\""},
	{"conv 8 3 pad=1 pad=2", 3, 1, 28, 28, 0,
	 "layer 1 \"conv 8 3 pad=1 pad=2\": option \"pad\" given twice"},
	{"conv 8 3 pad=", 3, 1, 28, 28, 0, "layer 1 \"conv 8 3 pad=\": option \"pad\" has no value"},
	/* numbers */
	{"conv 65537 3", 3, 1, 28, 28, 0,
	 "layer 1 \"conv 65537 3\": bad filter count \"65537\" (expected an integer from 1 to 65536)"},
	{"conv -3 3", 3, 1, 28, 28, 0,
	 "layer 1 \"conv -3 3\": bad filter count \"-3\" (expected an integer from 1 to 65536)"},
	{"conv 8 1025", 3, 1, 28, 28, 0,
	 "layer 1 \"conv 8 1025\": bad kernel size \"1025\" (expected K or KHxKW, integers from 1 to "
	 "1024)"},
	{"conv 8 3x", 3, 1, 28, 28, 0,
	 "layer 1 \"conv 8 3x\": bad kernel size \"3x\" (expected K or KHxKW, integers from 1 to "
	 "1024)"},
	{"conv 8 3 stride=0", 3, 1, 28, 28, 0,
	 "layer 1 \"conv 8 3 stride=0\": bad stride \"0\" (expected S or SHxSW, integers from 1 to "
	 "1024)"},
	{"conv 8 3 pad=2000", 3, 1, 28, 28, 0,
	 "layer 1 \"conv 8 3 pad=2000\": bad padding \"2000\" (expected N or NHxNW, integers from 0 "
	 "to 1024)"},
	{"conv 8 3 bias=maybe", 3, 1, 28, 28, 0,
	 "layer 1 \"conv 8 3 bias=maybe\": bad bias \"maybe\" (expected yes or no)"},
	{"dropout 1", 1, 5, 0, 0, 0,
	 "layer 1 \"dropout 1\": bad dropout rate \"1\" (expected a number from 0 to below 1)"},
	{"dropout nan", 1, 5, 0, 0, 0,
	 "layer 1 \"dropout nan\": bad dropout rate \"nan\" (expected a number from 0 to below 1)"},
	{"dropout 0.5x", 1, 5, 0, 0, 0,
	 "layer 1 \"dropout 0.5x\": bad dropout rate \"0.5x\" (expected a number from 0 to below 1)"},
	{"dense 1048577", 1, 5, 0, 0, 0,
	 "layer 1 \"dense 1048577\": bad unit count \"1048577\" (expected an integer from 1 to "
	 "1048576)"},
	{"dense 10 maxnorm=0", 1, 5, 0, 0, 0,
	 "layer 1 \"dense 10 maxnorm=0\": bad maxnorm \"0\" (expected a number above 0, at most 1e6)"},
	{"dense 10 leakyrelu=2", 1, 5, 0, 0, 0,
	 "layer 1 \"dense 10 leakyrelu=2\": bad leakyrelu alpha \"2\" (expected a number from 0 to "
	 "1)"},
	{"leakyrelu -1", 1, 5, 0, 0, 0,
	 "layer 1 \"leakyrelu -1\": bad leakyrelu alpha \"-1\" (expected a number from 0 to 1)"},
	{"batchnorm eps=0", 1, 5, 0, 0, 0,
	 "layer 1 \"batchnorm eps=0\": bad eps \"0\" (expected a number above 0, at most 1)"},
	{"embedding 0", 1, 5, 0, 0, 9,
	 "layer 1 \"embedding 0\": bad embedding dimension \"0\" (expected an integer from 1 to "
	 "65536)"},
	{"embedding 4 trainable=perhaps", 1, 5, 0, 0, 9,
	 "layer 1 \"embedding 4 trainable=perhaps\": bad trainable \"perhaps\" (expected yes or no)"},
	{"conv1d 10 3,,4; globalmaxpool", 2, 9, 4, 0, 0,
	 "layer 1 \"conv1d 10 3,,4\": bad width list \"3,,4\" (expected WIDTH[,WIDTH...], integers "
	 "from 1 to 1024)"},
	{"conv1d 10 3,4,3; globalmaxpool", 2, 9, 4, 0, 0,
	 "layer 1 \"conv1d 10 3,4,3\": width 3 given twice in \"3,4,3\""},
	{"conv1d 10 1,2,3,4,5,6,7,8,9; globalmaxpool", 2, 9, 4, 0, 0,
	 "layer 1 \"conv1d 10 1,2,3,4,5,6,7,8,9\": too many widths in \"1,2,3,4,5,6,7,8,9\" (at "
	 "most 8)"},
	/* structure */
	{"conv1d 10 3,4; dropout 0.5; globalmaxpool", 2, 9, 4, 0, 0,
	 "layer 1 \"conv1d 10 3,4\": a conv1d with several widths must be followed by "
	 "globalmaxpool"},
	{"dense 3; end", 1, 5, 0, 0, 0,
	 "layer 2 \"end\": \"end\" without a \"residual\" to close"},
	{"residual; dense 3", 1, 5, 0, 0, 0,
	 "layer 1 \"residual\": residual block not closed (add a layer \"end\")"},
	{"", 1, 5, 0, 0, 0, "no layers (an architecture needs at least one)"},
	{" ;\n# only a comment\n ; ", 1, 5, 0, 0, 0, "no layers (an architecture needs at least one)"},
	{"dense 3;\ndense\x01 4", 1, 5, 0, 0, 0,
	 "layer 2 \"dense\\x01 4\": unexpected control byte 0x01"},
	/* shapes */
	{"dense 10; conv 8 3", 3, 1, 28, 28, 0,
	 "layer 2 \"conv 8 3\": conv needs an image input (C,H,W), got (10)"},
	{"conv 8 5; conv 8 5", 3, 1, 8, 8, 0,
	 "layer 2 \"conv 8 5\": input (8,4,4) is too small for kernel 5x5 with padding 0x0: the "
	 "output would be empty"},
	{"conv 8 3x9 pad=1", 3, 1, 8, 6, 0,
	 "layer 1 \"conv 8 3x9 pad=1\": input (1,8,6) is too small for kernel 3x9 with padding "
	 "1x1: the output would be empty"},
	{"maxpool 2; maxpool 2; maxpool 2", 3, 1, 5, 5, 0,
	 "layer 3 \"maxpool 2\": input (1,1,1) is too small for pool 2x2: the output would be "
	 "empty"},
	{"maxpool 2", 2, 10, 3, 0, 0,
	 "layer 1 \"maxpool 2\": maxpool needs an image input (C,H,W), got (10,3) (for sequences use "
	 "globalmaxpool)"},
	{"dense 4; globalmaxpool", 1, 5, 0, 0, 0,
	 "layer 2 \"globalmaxpool\": globalmaxpool needs an image (C,H,W) or a sequence (T,C), got "
	 "(4)"},
	{"conv1d 8 3", 3, 1, 28, 28, 0,
	 "layer 1 \"conv1d 8 3\": conv1d needs a sequence input (T,C), got (1,28,28)"},
	{"conv1d 8 3,6; globalmaxpool", 2, 5, 4, 0, 0,
	 "layer 1 \"conv1d 8 3,6\": width 6 is longer than the sequence (5,4): the output would be "
	 "empty"},
	{"embedding 50", 3, 1, 28, 28, 0,
	 "layer 1 \"embedding 50\": embedding needs token ids (T) from a dataset with a vocabulary, "
	 "got (1,28,28)"},
	{"dense 5; embedding 50", 1, 20, 0, 0, 0,
	 "layer 2 \"embedding 50\": embedding must be the first layer (its input is token ids)"},
	{"dense 5", 1, 20, 0, 0, 100,
	 "layer 1 \"dense 5\": the input (20) is token ids: the first layer must be embedding"},
	{"residual; conv 8 3 pad=same; end", 3, 3, 8, 8, 0,
	 "layer 3 \"end\": residual add needs equal shapes: block input (3,8,8) (layer 1), block "
	 "output (8,8,8)"},
	{"dense 1048576; dense 4096", 1, 4096, 0, 0, 0,
	 "layer 1 \"dense 1048576\": too many parameters: more than 2147483648 (2^31) with this "
	 "layer"},
	{"conv 65536 1; conv 65536 1", 3, 1, 256, 256, 0,
	 "layer 1 \"conv 65536 1\": output (65536,256,256) has more than 2147483648 values"},
	/* input */
	{"dense 5", 4, 1, 2, 3, 0, "input rank 4: expected (C,H,W), (T,C), (F) or (T)"},
	{"dense 5", 2, 0, 2, 0, 0, "input dimension 1 is 0: expected 1 to 16777216"},
	{"embedding 5", 2, 3, 2, 0, 10, "token ids must have shape (T), got (3,2)"},
};

static void test_errors(void)
{
	for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
		const error_case *c = &error_cases[i];
		ck_arch a;
		ck_err e = {""};
		int64_t shape[4] = {c->d0, c->d1, c->d2, 1};
		int rc = ck_arch_parse(c->spec, &a, &e);
		if (rc == 0) {
			rc = ck_arch_infer(&a, shape, c->rank, c->vocab, &e);
			CHECK(rc < 0 || a.inferred, "inferred flag");
			CHECK(rc == 0 || (!a.inferred && a.nparams == 0 && a.total_params == 0),
			      "a failed infer leaves no table");
			ck_arch_free(&a);
		} else {
			CHECK(a.nlayers == 0 && a.layers == NULL, "a failed parse leaves *out empty");
		}
		CHECK(rc == -1, "case %zu should fail: %s", i, c->spec);
		CHECK(strcmp(e.msg, c->msg) == 0, "case %zu:\n#   got  %s\n#   want %s", i, e.msg,
		      c->msg);
	}
}

static void test_limits(void)
{
	ck_arch a;
	ck_err e = {""};
	/* 1000 layers parse; the 1001st is refused */
	size_t cap = 8 * 1002;
	char *spec = malloc(cap);
	spec[0] = '\0';
	for (int i = 0; i < 1000; i++)
		strcat(spec, "relu\n");
	CHECK(build(&a, spec, 1, 5, 0, 0, 0, &e) == 0 && a.nlayers == 1000, "%s", e.msg);
	ck_arch_free(&a);
	strcat(spec, "tanh\n");
	CHECK(ck_arch_parse(spec, &a, &e) < 0 &&
	          strcmp(e.msg, "layer 1001 \"tanh\": too many layers (at most 1000)") == 0,
	      "%s", e.msg);
	/* blank layers and comments do not count */
	strcpy(spec, "#head\n\n;;relu # a comment; tanh\n\t \r\n  sigmoid\r\n;");
	CHECK(ck_arch_parse(spec, &a, &e) == 0 && a.nlayers == 2 &&
	          a.layers[1].act.kind == CK_ARCH_ACT_SIGMOID,
	      "comments: %s", e.msg);
	ck_arch_free(&a);
	/* residual blocks nest 16 deep, not 17 */
	spec[0] = '\0';
	for (int i = 0; i < 17; i++)
		strcat(spec, "residual;");
	CHECK(ck_arch_parse(spec, &a, &e) < 0 &&
	          strcmp(e.msg, "layer 17 \"residual\": residual blocks nested too deep (at most "
	                        "16)") == 0,
	      "%s", e.msg);
	free(spec);

	/* words: too many, too long; messages quote at most 60 bytes */
	char many[400] = "relu";
	for (int i = 0; i < 64; i++)
		strcat(many, " x");
	CHECK(ck_arch_parse(many, &a, &e) < 0 &&
	          strcmp(e.msg, "layer 1: too many words (at most 64)") == 0,
	      "%s", e.msg);
	char *longword = malloc(5000);
	memcpy(longword, "embedding 5 init=", 17);
	memset(longword + 17, 'a', 4096 - 5);
	longword[17 + 4096 - 5] = '\0';
	CHECK(ck_arch_parse(longword, &a, &e) == 0, "4096-byte word: %s", e.msg);
	ck_arch_free(&a);
	strcat(longword, "a");
	CHECK(ck_arch_parse(longword, &a, &e) < 0 &&
	          strcmp(e.msg, "layer 1: word of 4097 bytes is too long (at most 4096)") == 0,
	      "%s", e.msg);
	strcpy(longword + 4000, " x");
	CHECK(ck_arch_parse(longword, &a, &e) < 0 && strlen(e.msg) < 200 && strstr(e.msg, "...\""),
	      "long text quoted short: %s", e.msg);
	free(longword);
}

/* Parses spec, formats it, parses that, and checks the second formatting
 * is the same text and the layers the same. */
static void check_round_trip(const char *spec, const char *want)
{
	ck_arch a, b;
	ck_err e = {""};
	char *f1 = NULL, *f2 = NULL;
	CHECK(ck_arch_parse(spec, &a, &e) == 0, "%s: %s", spec, e.msg);
	if (!a.layers)
		return;
	CHECK(ck_arch_format(&a, &f1) == 0 && f1, "format");
	CHECK(!want || strcmp(f1, want) == 0, "\n#   got  %s\n#   want %s", f1, want);
	CHECK(ck_arch_parse(f1, &b, &e) == 0, "%s: %s", f1, e.msg);
	CHECK(ck_arch_format(&b, &f2) == 0 && f2 && strcmp(f1, f2) == 0, "%s vs %s", f1, f2);
	CHECK(a.nlayers == b.nlayers, "layer count");
	for (int i = 0; i < a.nlayers && i < b.nlayers; i++) {
		const ck_arch_layer *x = &a.layers[i], *y = &b.layers[i];
		CHECK(x->kind == y->kind, "kind of layer %d", i);
		if (x->kind == CK_ARCH_CONV)
			CHECK(x->conv.filters == y->conv.filters && x->conv.kh == y->conv.kh &&
			          x->conv.kw == y->conv.kw && x->conv.sh == y->conv.sh &&
			          x->conv.sw == y->conv.sw && x->conv.pad_mode == y->conv.pad_mode &&
			          x->conv.ph == y->conv.ph && x->conv.pw == y->conv.pw &&
			          x->conv.bias == y->conv.bias && x->conv.act.kind == y->conv.act.kind &&
			          x->conv.act.alpha == y->conv.act.alpha,
			      "conv %d", i);
		if (x->kind == CK_ARCH_DENSE)
			CHECK(x->dense.units == y->dense.units && x->dense.bias == y->dense.bias &&
			          x->dense.maxnorm == y->dense.maxnorm &&
			          x->dense.act.kind == y->dense.act.kind &&
			          x->dense.act.alpha == y->dense.act.alpha,
			      "dense %d", i);
		if (x->kind == CK_ARCH_DROPOUT)
			CHECK(x->dropout.p == y->dropout.p, "dropout %d", i);
		if (x->kind == CK_ARCH_ACTIVATION)
			CHECK(x->act.kind == y->act.kind && x->act.alpha == y->act.alpha, "act %d", i);
		if (x->kind == CK_ARCH_BATCHNORM)
			CHECK(x->batchnorm.eps == y->batchnorm.eps &&
			          x->batchnorm.momentum == y->batchnorm.momentum,
			      "batchnorm %d", i);
		if (x->kind == CK_ARCH_CONV1D)
			CHECK(x->conv1d.filters == y->conv1d.filters &&
			          x->conv1d.nwidths == y->conv1d.nwidths &&
			          memcmp(x->conv1d.widths, y->conv1d.widths, sizeof x->conv1d.widths) == 0 &&
			          x->conv1d.bias == y->conv1d.bias &&
			          x->conv1d.act.kind == y->conv1d.act.kind,
			      "conv1d %d", i);
		if (x->kind == CK_ARCH_EMBEDDING)
			CHECK(x->embedding.dim == y->embedding.dim &&
			          x->embedding.trainable == y->embedding.trainable &&
			          !x->embedding.init == !y->embedding.init &&
			          (!x->embedding.init || strcmp(x->embedding.init, y->embedding.init) == 0),
			      "embedding %d", i);
		if (x->kind == CK_ARCH_MAXPOOL || x->kind == CK_ARCH_AVGPOOL)
			CHECK(memcmp(&x->pool, &y->pool, sizeof x->pool) == 0, "pool %d", i);
	}
	free(f1);
	free(f2);
	ck_arch_free(&a);
	ck_arch_free(&b);
}

static void test_round_trip(void)
{
	check_round_trip(REFERENCE, REFERENCE);
	check_round_trip(KIM, KIM);
	check_round_trip("  conv\t32  3   relu pad=same   # comment\n\n maxpool 2 stride=2\n",
	                 "conv 32 3 pad=same relu; maxpool 2");
	check_round_trip("conv 8 3x3 stride=1 pad=valid bias=yes linear; conv 8 3x5 stride=2x2 pad=0",
	                 "conv 8 3; conv 8 3x5 stride=2");
	check_round_trip("conv 8 005 pad=1x2 stride=1x3 bias=no leakyrelu=0.25",
	                 "conv 8 5 stride=1x3 pad=1x2 bias=no leakyrelu=0.25");
	check_round_trip("dense 10 leakyrelu=0.01 bias=yes; dense 3 sigmoid maxnorm=.5",
	                 "dense 10 leakyrelu; dense 3 maxnorm=0.5 sigmoid");
	check_round_trip("batchnorm eps=1e-5 momentum=0.1; batchnorm eps=2e-5 momentum=0.3",
	                 "batchnorm; batchnorm eps=2e-05 momentum=0.3");
	check_round_trip("dropout 0.1; dropout 0; dropout 0.333333333333; leakyrelu 0.2; leakyrelu",
	                 "dropout 0.1; dropout 0; dropout 0.333333333333; leakyrelu 0.2; leakyrelu");
	check_round_trip("maxpool 3 stride=3; avgpool 2x3 stride=1; globalavgpool; flatten; tanh; "
	                 "softmax; relu; sigmoid",
	                 "maxpool 3; avgpool 2x3 stride=1; globalavgpool; flatten; tanh; softmax; "
	                 "relu; sigmoid");
	check_round_trip("embedding 300 trainable=yes\nconv1d 64 5 bias=no tanh\nglobalmaxpool",
	                 "embedding 300; conv1d 64 5 bias=no tanh; globalmaxpool");
	check_round_trip("residual\nconv 4 3 pad=same\nend\n", "residual; conv 4 3 pad=same; end");
}

/* Random numbers for the fuzz test (xorshift64*). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32) % n;
}

static const char *const seeds[] = {
	REFERENCE,
	KIM,
	"conv 16 3 pad=same relu\nresidual\nconv 16 3 pad=same relu\nconv 16 3 pad=same\nend\nrelu\n"
	"globalavgpool\ndense 10 softmax",
	"conv 8 5x3 stride=2x1 pad=2x1 bias=no leakyrelu=0.1; batchnorm eps=1e-3; avgpool 2 stride=1; "
	"flatten; dense 64 maxnorm=3 tanh; dropout 0.25; dense 1 sigmoid",
	"embedding 16; conv1d 8 2 relu; batchnorm; globalmaxpool; dense 4; leakyrelu 0.3",
};

/* Valid layers to combine at random: most combinations parse, and many
 * shapes then fail in ck_arch_infer. */
static const char *const layers[] = {
	"conv 4 3 pad=same relu", "conv 2 5 stride=2", "conv 3 1x3 pad=1x0 bias=no",
	"conv 2 7 stride=3 pad=same", "maxpool 2", "maxpool 3 stride=1", "avgpool 2x1",
	"globalmaxpool", "globalavgpool", "flatten", "dense 7 relu", "dense 3 maxnorm=2",
	"batchnorm", "dropout 0.2", "relu", "leakyrelu 0.1", "softmax", "embedding 6",
	"embedding 4 trainable=no", "conv1d 5 2 tanh", "conv1d 3 2,3; globalmaxpool",
	"conv1d 4 1,5,9; globalmaxpool", "residual", "end", "residual; relu; end",
};

static const char *const tokens[] = {
	"conv", "conv1d", "dense", "maxpool", "avgpool", "globalmaxpool", "embedding", "batchnorm",
	"dropout", "residual", "end", "relu", "leakyrelu", "softmax", "flatten", "pad=", "same",
	"stride=", "bias=", "no", "maxnorm=", "init=", "trainable=", "eps=", "x", ",", "=", ";", "\n",
	"#", " ", "\t", "0", "1", "3", "65536", "1024", "99999999999999999999", "0.5", "1e308",
	"-1", "3,4,5", "2x2", "\r",
};
#define NTOKENS ((uint32_t)(sizeof tokens / sizeof tokens[0]))

static int fuzz_tried, fuzz_parsed, fuzz_inferred;

/* Whatever the parser accepts must format, parse back to the same text,
 * infer or fail cleanly, and summarise. */
static void exercise(const char *text)
{
	ck_arch a;
	ck_err e;
	fuzz_tried++;
	if (ck_arch_parse(text, &a, &e) < 0) {
		CHECK(e.msg[0] != '\0' && a.layers == NULL, "a failure has a message");
		return;
	}
	char *f1 = NULL, *f2 = NULL;
	ck_arch b;
	fuzz_parsed++;
	CHECK(ck_arch_format(&a, &f1) == 0, "format");
	int ok = ck_arch_parse(f1, &b, &e) == 0;
	CHECK(ok, "canonical form parses: %s: %s", f1, e.msg);
	if (ok) {
		CHECK(ck_arch_format(&b, &f2) == 0 && strcmp(f1, f2) == 0, "%s", f1);
		ck_arch_free(&b);
	}
	static const int64_t inputs[][4] = {{3, 1, 28, 28}, {1, 20, 0, 0}, {2, 12, 6, 0}};
	for (int i = 0; i < 4; i++) {
		int64_t vocab = i == 3 ? 50 : 0;
		const int64_t *in = i == 3 ? (const int64_t[]){1, 30} : inputs[i];
		if (ck_arch_infer(&a, in + 1, (int)in[0], vocab, &e) < 0) {
			CHECK(e.msg[0] != '\0', "infer failure has a message");
			continue;
		}
		fuzz_inferred++;
		int64_t sum = 0;
		for (int p = 0; p < a.nparams; p++)
			sum += a.params[p].count;
		CHECK(sum == a.total_params && sum <= CK_ARCH_MAX_PARAMS, "count");
		char *s = NULL;
		CHECK(ck_arch_summary(&a, &s) == 0 && s, "summary");
		free(s);
	}
	free(f1);
	free(f2);
	ck_arch_free(&a);
}

static void test_fuzz(void)
{
	enum { ROUNDS = 6000, MAX = 600 };
	char buf[MAX + 64];
	/* random bytes, all 255 non-zero values */
	for (int r = 0; r < ROUNDS; r++) {
		size_t n = rnd(MAX);
		for (size_t i = 0; i < n; i++)
			buf[i] = (char)(1 + rnd(255));
		buf[n] = '\0';
		exercise(buf);
	}
	/* random sequences of the language's own words */
	for (int r = 0; r < ROUNDS; r++) {
		size_t n = 0;
		while (n < MAX) {
			const char *t = tokens[rnd(NTOKENS)];
			size_t len = strlen(t);
			memcpy(buf + n, t, len);
			n += len;
			if (rnd(3) == 0)
				buf[n++] = ' ';
			if (rnd(40) == 0)
				break;
		}
		buf[n] = '\0';
		exercise(buf);
	}
	/* random sequences of valid layers */
	for (int r = 0; r < ROUNDS; r++) {
		size_t n = 0;
		int count = 1 + (int)rnd(8);
		for (int k = 0; k < count; k++) {
			const char *t = layers[rnd(sizeof layers / sizeof layers[0])];
			size_t len = strlen(t);
			memcpy(buf + n, t, len);
			n += len;
			buf[n++] = rnd(2) ? ';' : '\n';
		}
		buf[n] = '\0';
		exercise(buf);
	}
	/* valid specs with a few edits: delete, insert a word, change a byte, repeat */
	for (int r = 0; r < 4 * ROUNDS; r++) {
		const char *seed = seeds[rnd(sizeof seeds / sizeof seeds[0])];
		size_t n = strlen(seed);
		memcpy(buf, seed, n + 1);
		int edits = rnd(2) ? 1 : 1 + (int)rnd(3);
		for (int k = 0; k < edits && n > 0; k++) {
			size_t at = rnd((uint32_t)n);
			switch (rnd(4)) {
			case 0: { /* delete up to 4 bytes */
				size_t len = 1 + rnd(4);
				if (at + len > n)
					len = n - at;
				memmove(buf + at, buf + at + len, n - at - len + 1);
				n -= len;
				break;
			}
			case 1: { /* insert a token */
				const char *t = tokens[rnd(NTOKENS)];
				size_t len = strlen(t);
				if (n + len >= MAX)
					break;
				memmove(buf + at + len, buf + at, n - at + 1);
				memcpy(buf + at, t, len);
				n += len;
				break;
			}
			case 2: /* change a byte */
				buf[at] = (char)(1 + rnd(255));
				break;
			default: { /* duplicate a stretch */
				size_t len = 1 + rnd(12);
				if (at + len > n)
					len = n - at;
				if (n + len >= MAX)
					break;
				memmove(buf + at + len, buf + at, n - at + 1);
				n += len;
				break;
			}
			}
		}
		exercise(buf);
	}
	printf("# fuzz: %d texts, %d parsed, %d inferences succeeded\n", fuzz_tried, fuzz_parsed,
	       fuzz_inferred);
}

int main(void)
{
	RUN(test_reference_network);
	RUN(test_strides_and_padding);
	RUN(test_batchnorm_and_flatten);
	RUN(test_kim_cnn);
	RUN(test_residual);
	RUN(test_errors);
	RUN(test_limits);
	RUN(test_round_trip);
	RUN(test_fuzz);
	return check_summary();
}
