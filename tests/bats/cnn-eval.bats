#!/usr/bin/env bats
# cnn-eval(1): reports, JSON and predictions of models whose outputs are
# known exactly, and the failure contract. The models and datasets come from
# tests/unit/test_data_fixtures.c (see the list there):
#   model-3way: logits (x0, x1, 0); data-3way: y 0 0 1 2 2, predictions 0 2 1 2 0
#   model-binary: logit x0 - x1; data-binary: y 1 1 0 0, logits 1 -1 0 -4
#   model-reg: outputs (x0 + x1, x0 - x1); data-reg: errors (0,-1), (0,2), (-1,0)

setup_file() {
	local build=${BUILD:-${CK_TOP:-$BATS_TEST_DIRNAME/../..}/build}
	"$build/tests/test_data_fixtures" "$BATS_FILE_TMPDIR"
}

setup() {
	cd "$BATS_FILE_TMPDIR"
}

# ---- help, version, usage errors -------------------------------------------

@test "--help prints the usage on stdout and exits 0" {
	run cnn-eval --help
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "usage: cnn-eval -m MODEL [--json] [--predict] [--tsv] [--top-k K] [--batch B]" ]
	[[ "$output" == *"--top-k K"*"--threads N"*"Example:"* ]]
}

@test "--version prints the version" {
	run cnn-eval --version
	[ "$status" -eq 0 ]
	[[ "$output" == "cnn-eval (cnnkit) "[0-9]* ]]
}

@test "usage errors exit 2 with a short usage on stderr" {
	run cnn-eval data-3way.tnz
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "cnn-eval: no model: use -m MODEL" ]
	[[ "${lines[1]}" == "usage: cnn-eval -m MODEL"* ]]
	run cnn-eval --bogus -m model-3way.tnz
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "cnn-eval: unknown option --bogus" ]
	run cnn-eval -m
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "cnn-eval: option -m needs a value" ]
	run cnn-eval -m model-3way.tnz --batch 0 data-3way.tnz
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = 'cnn-eval: --batch "0": expected an integer from 1 to 1048576' ]
	run cnn-eval -m model-3way.tnz --top-k 2x data-3way.tnz
	[ "$status" -eq 2 ]
	run cnn-eval -m model-3way.tnz --threads -1 data-3way.tnz
	[ "$status" -eq 2 ]
	run cnn-eval -m model-3way.tnz --tsv data-3way.tnz
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "cnn-eval: --tsv goes with --predict" ]
	run cnn-eval -m model-3way.tnz --json --predict data-3way.tnz
	[ "$status" -eq 2 ]
	run cnn-eval -m model-3way.tnz data-3way.tnz data-3way.tnz
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = 'cnn-eval: one data file at most (got "data-3way.tnz" too)' ]
}

# ---- reports -----------------------------------------------------------------

@test "the report: loss, accuracy, top-k, per-class table, confusion matrix" {
	run cnn-eval -m model-3way.tnz --top-k 2 data-3way.tnz
	[ "$status" -eq 0 ]
	expected='examples  5
loss      0.82837 (cce)
accuracy  0.6000
top-2     0.8000

class             precision  recall  f1      support
cat               0.5000     0.5000  0.5000  2
dog "big"         1.0000     1.0000  1.0000  1
zèbre             0.5000     0.5000  0.5000  2
macro avg         0.6667     0.6667  0.6667  5
weighted avg      0.6000     0.6000  0.6000  5

confusion matrix (rows: true class, columns: predicted class)
                       cat  dog "bi~     zèbre
cat                      1         0         1
dog "big"                0         1         0
zèbre                    1         0         1'
	[ "$output" = "$expected" ]
}

@test "--json: every key, exact values, escaped class names, valid JSON" {
	run cnn-eval -m model-3way.tnz --json --top-k 2 data-3way.tnz
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == '{"n": 5, "loss": 0.8283698'*', "loss_kind": "cce", "accuracy": 0.6, "top_k": {"k": 2, "accuracy": 0.8}, "per_class": [{"id": 0, "class": "cat", "precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}, {"id": 1, "class": "dog \"big\"", "precision": 1, "recall": 1, "f1": 1, "support": 1}, {"id": 2, "class": "zèbre", "precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}], "macro_avg": {"precision": 0.6666666667, "recall": 0.6666666667, "f1": 0.6666666667, "support": 5}, "weighted_avg": {"precision": 0.6, "recall": 0.6, "f1": 0.6, "support": 5}, "confusion": [[1, 0, 1], [0, 1, 0], [1, 0, 1]]}' ]]
	# The loss is the mean softmax cross-entropy of the five rows.
	loss=$(awk 'BEGIN { z[0] = "2 1 0"; z[1] = "-1 -2 0"; z[2] = "0 3 0"; z[3] = "-1 -1 0"; z[4] = "1 0.5 0"
		split("0 0 1 2 2", y, " ")
		for (i = 0; i < 5; i++) { split(z[i], v, " "); s = exp(v[1]) + exp(v[2]) + exp(v[3]); t += log(s) - v[y[i + 1] + 1] }
		printf "%.6f", t / 5 }')
	[ "$loss" = "0.828370" ]
	if command -v python3 >/dev/null; then
		echo "$output" | python3 -c 'import json, sys; d = json.load(sys.stdin); assert d["per_class"][1]["class"] == "dog \"big\"" and d["per_class"][2]["class"] == "z\u00e8bre"'
	fi
}

@test "data from standard input, and from -" {
	run sh -c 'cnn-eval -m model-3way.tnz --json < data-3way.tnz'
	[ "$status" -eq 0 ]
	[[ "$output" == *'"accuracy": 0.6,'* ]]
	run sh -c 'cat data-3way.tnz | cnn-eval -m model-3way.tnz --json -'
	[ "$status" -eq 0 ]
	[[ "$output" == *'"accuracy": 0.6,'* ]]
}

@test "the batch size does not change the metrics" {
	run cnn-eval -m model-3way.tnz --json --batch 1 --threads 1 data-3way.tnz
	[ "$status" -eq 0 ]
	[[ "$output" == *'"accuracy": 0.6,'*'"confusion": [[1, 0, 1], [0, 1, 0], [1, 0, 1]]}' ]]
}

@test "the model's normalisation is applied (x - 2: accuracy 0.8)" {
	run cnn-eval -m model-3way-norm.tnz --json data-3way.tnz
	[ "$status" -eq 0 ]
	[[ "$output" == *'"accuracy": 0.8,'*'"confusion": [[1, 0, 1], [0, 1, 0], [0, 0, 2]]}' ]]
}

@test "a single sigmoid output: binary classification at 0.5" {
	run cnn-eval -m model-binary.tnz --json data-binary.tnz
	[ "$status" -eq 0 ]
	[[ "$output" == '{"n": 4, "loss": 0.58445'*', "loss_kind": "bce", "accuracy": 0.5, "per_class": [{"id": 0, "class": "0", '*'"confusion": [[1, 1], [1, 1]]}' ]]
}

@test "regression: mse and mae, over all outputs and per output" {
	run cnn-eval -m model-reg.tnz --json data-reg.tnz
	[ "$status" -eq 0 ]
	[ "$output" = '{"n": 3, "loss": 1, "loss_kind": "mse", "mse": 1, "mae": 0.6666666667, "per_output": [{"output": 0, "mse": 0.3333333333, "mae": 0.3333333333}, {"output": 1, "mse": 1.666666667, "mae": 1}]}' ]
	run cnn-eval -m model-reg.tnz data-reg.tnz
	[ "$status" -eq 0 ]
	[ "${lines[2]}" = "mse       1" ]
	[ "${lines[3]}" = "mae       0.666667" ]
	[ "${lines[6]}" = "1       1.66667     1" ]
}

@test "-o writes the report to a file, atomically" {
	run cnn-eval -m model-3way.tnz --json -o out/report.json data-3way.tnz
	[ "$status" -eq 1 ] # no such directory
	mkdir -p out
	run cnn-eval -m model-3way.tnz --json -o out/report.json data-3way.tnz
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	grep -q '"accuracy": 0.6,' out/report.json
	[ "$(ls -A out)" = "report.json" ]
}

# ---- predictions ---------------------------------------------------------------

@test "--predict --tsv on unlabelled data: index, class name, probability" {
	run cnn-eval -m model-3way.tnz --predict --tsv data-3way-x.tnz
	[ "$status" -eq 0 ]
	expected=$(printf '0\tcat\t0.665241\n1\tzèbre\t0.665241\n2\tdog "big"\t0.909443\n3\tzèbre\t0.576117\n4\tcat\t0.506480')
	[ "$output" = "$expected" ]
}

@test "--predict --tsv for a binary model gives the probability of the predicted class" {
	run cnn-eval -m model-binary.tnz --predict --tsv data-binary.tnz
	[ "$status" -eq 0 ]
	expected=$(printf '0\t1\t0.731059\n1\t0\t0.731059\n2\t1\t0.500000\n3\t0\t0.982014')
	[ "$output" = "$expected" ]
}

@test "--predict --tsv for regression lists the outputs" {
	run cnn-eval -m model-reg.tnz --predict --tsv data-reg.tnz
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '0\t3\t1\n1\t0\t2\n2\t-2\t0')" ]
}

@test "--predict writes a TNZ file with pred and prob" {
	run cnn-eval -m model-3way.tnz --predict -o pred.tnz data-3way-x.tnz
	[ "$status" -eq 0 ]
	[ "$(head -c 8 pred.tnz | od -An -tx1 | tr -d ' ')" = "89544e5a0d0a1a0a" ]
	if command -v tnz >/dev/null && tnz info pred.tnz >/dev/null 2>&1; then
		run tnz info pred.tnz
		[[ "$output" == *pred*i32*5* ]]
		[[ "$output" == *prob*f32*"5, 3"* || "$output" == *prob*f32*"5,3"* ]]
	fi
	# Standard output (not a terminal) works too.
	cnn-eval -m model-3way.tnz --predict data-3way-x.tnz > pred2.tnz
	[ -s pred2.tnz ]
}

@test "--predict works on labelled data too" {
	run cnn-eval -m model-3way.tnz --predict --tsv data-3way.tnz
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 5 ]
	[ "${lines[1]}" = "$(printf '1\tzèbre\t0.665241')" ]
}

@test "a closed pipe downstream ends cnn-eval quietly" {
	run bash -c 'cnn-eval -m model-3way.tnz --predict --tsv data-many.tnz 2>err | head -1; echo "${PIPESTATUS[0]}"'
	[ "${lines[0]}" = "$(printf '0\tzèbre\t0.843795')" ]
	[ "${lines[1]}" = 141 ] || [ "${lines[1]}" = 0 ]
	[ ! -s err ]
}

# ---- failures --------------------------------------------------------------------

@test "writing to a full disk fails with exit 1" {
	run sh -c 'cnn-eval -m model-3way.tnz data-3way.tnz > /dev/full'
	[ "$status" -eq 1 ]
	[ "$output" = "cnn-eval: write error on standard output: No space left on device" ]
	run sh -c 'cnn-eval -m model-3way.tnz --predict --tsv data-3way.tnz > /dev/full'
	[ "$status" -eq 1 ]
	run sh -c 'cnn-eval -m model-3way.tnz --predict data-3way.tnz > /dev/full'
	[ "$status" -eq 1 ]
	[[ "$output" == "cnn-eval: standard output: "*"No space left on device" ]]
}

@test "unlabelled data without --predict" {
	run cnn-eval -m model-3way.tnz data-3way-x.tnz
	[ "$status" -eq 1 ]
	[ "$output" = "cnn-eval: data-3way-x.tnz: data has no labels (y): use --predict" ]
}

@test "a missing, damaged or wrong model file" {
	run cnn-eval -m nothing.tnz data-3way.tnz
	[ "$status" -eq 1 ]
	[ "$output" = "cnn-eval: nothing.tnz: No such file or directory" ]
	head -c 300 model-3way.tnz > cut.tnz
	run cnn-eval -m cut.tnz data-3way.tnz
	[ "$status" -eq 1 ]
	[ "$output" = "cnn-eval: cut.tnz: truncated at offset 300" ]
	run cnn-eval -m data-3way.tnz data-3way.tnz
	[ "$status" -eq 1 ]
	[ "$output" = 'cnn-eval: data-3way.tnz: not a model (no "arch" metadata)' ]
	printf 'not a tnz file at all' > junk.tnz
	run cnn-eval -m junk.tnz data-3way.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == "cnn-eval: junk.tnz: "* ]]
}

@test "data that does not fit the model" {
	run cnn-eval -m model-3way.tnz data-bad-shape.tnz
	[ "$status" -eq 1 ]
	[ "$output" = "cnn-eval: data-bad-shape.tnz: data examples are (3), the model takes (2)" ]
	run cnn-eval -m model-3way.tnz data-bad-classes.tnz
	[ "$status" -eq 1 ]
	[ "$output" = "cnn-eval: data-bad-classes.tnz: data has 4 classes, the model outputs 3" ]
	run cnn-eval -m model-reg.tnz data-3way.tnz
	[ "$status" -eq 1 ]
	[ "$output" = "cnn-eval: data-3way.tnz: data has 3 classes, the model outputs 2" ]
}

@test "labels out of range, empty data, missing data" {
	run cnn-eval -m model-3way.tnz data-bad-label.tnz
	[ "$status" -eq 1 ]
	[ "$output" = "cnn-eval: data-bad-label.tnz: y row 3: class 7 is out of range [0, 3)" ]
	run cnn-eval -m model-3way.tnz data-empty.tnz
	[ "$status" -eq 1 ]
	[ "$output" = "cnn-eval: data-empty.tnz: no examples (x has shape (0, 2))" ]
	run cnn-eval -m model-3way.tnz nothing.tnz
	[ "$status" -eq 1 ]
	[ "$output" = "cnn-eval: nothing.tnz: No such file or directory" ]
	run sh -c 'cnn-eval -m model-3way.tnz < /dev/null'
	[ "$status" -eq 1 ]
	[[ "$output" == "cnn-eval: standard input: "* ]]
}

@test "--text: a usage error without --predict or with DATA; a model of f32 values is refused" {
	run cnn-eval --help
	[[ "$output" == *"--text FILE"*"--vocab-from MODEL"* ]]
	run cnn-eval -m model-3way.tnz --text -
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "cnn-eval: --text goes with --predict" ]
	run cnn-eval -m model-3way.tnz --predict --text - data-3way.tnz
	[ "$status" -eq 2 ]
	run cnn-eval -m model-3way.tnz --predict --text
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "cnn-eval: option --text needs a value" ]
	run sh -c 'echo good | cnn-eval -m model-3way.tnz --predict --text -'
	[ "$status" -eq 1 ]
	[ "$output" = "cnn-eval: model-3way.tnz: --text needs a model of token ids (this one takes f32 values)" ]
}

@test "--top-k beyond the classes, or on a binary model" {
	run cnn-eval -m model-3way.tnz --top-k 4 data-3way.tnz
	[ "$status" -eq 1 ]
	[ "$output" = "cnn-eval: --top-k 4 is more than the 3 outputs of the model" ]
	run cnn-eval -m model-binary.tnz --top-k 1 data-binary.tnz
	[ "$status" -eq 1 ]
	[ "$output" = "cnn-eval: top-k accuracy needs a model with several class outputs" ]
}
