#!/usr/bin/env bats
# The text CNN pipeline: tokenize -> cnn-train -> cnn-eval on small synthetic
# sentence sets made here (a few hundred lines, seconds to train): the model
# keeps the vocabulary and the tokenizer settings, tokenize --vocab-from MODEL
# gives the training ids, cnn-eval --predict --text classifies raw lines,
# embedding init= takes word vectors, character-level models, bad input (a
# foreign vocabulary, empty sentences, missing labels, long sentences, ids
# out of range) and bit-identical models for the same seed and threads.

# The architecture every test trains: Kim's network, small.
ARCH='embedding 8; conv1d 8 2,3 relu; globalmaxpool; dropout 0.5; dense 1 sigmoid'

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	# N lines "label<TAB>sentence" from seed S: filler words and one to
	# three words that carry the label (pos or neg).
	cat >gen.awk <<'EOF'
BEGIN {
	split("good great excellent love nice perfect happy fine", P, " ")
	split("bad awful terrible hate poor broken sad worst", N, " ")
	split("the phone movie it is was this a very and of with for my battery film plot", F, " ")
	for (i = 0; i < n; i++) {
		pos = rnd(2); len = 3 + rnd(8); k = 1 + rnd(3); line = ""
		for (j = 0; j < len; j++) {
			w = j < k ? (pos ? P[1 + rnd(8)] : N[1 + rnd(8)]) : F[1 + rnd(17)]
			line = line (j ? " " : "") w
		}
		printf "%s\t%s\n", pos ? "pos" : "neg", line
	}
}
function rnd(m) { s = (s * 1103515245 + 12345) % 2147483648; return int(s / 65536) % m }
EOF
	awk -v n=300 -v s=1 -f gen.awk >train.tsv
	awk -v n=100 -v s=2 -f gen.awk >test.tsv
	tokenize -q --label-field 1 -o train.tnz train.tsv
	tokenize -q --label-field 1 --vocab-from train.tnz -o test.tnz test.tsv
	cnn-train --arch "$ARCH" --optim adam --lr 0.02 --epochs 10 --batch 32 --threads 1 -q \
		-o model.tnz train.tnz
}

setup() {
	cd "$BATS_FILE_TMPDIR"
}

# accuracy FILE: the accuracy line of a cnn-eval report, as a number.
accuracy() {
	awk '$1 == "accuracy" { print $2 }' "$1"
}

# ---- the model keeps the vocabulary --------------------------------------------

@test "the model keeps the vocabulary, classes and tokenizer; it learns the task" {
	[ "$(tnz meta model.tnz vocab)" = "$(tnz meta train.tnz vocab)" ]
	[ "$(tnz meta model.tnz classes)" = "$(printf 'neg\npos')" ]
	[[ "$(tnz meta model.tnz tokenizer)" == "mode=word punct=0 lower=1 strip_accents=0 unicode="* ]]
	cnn-eval -m model.tnz test.tnz >report.txt
	acc=$(accuracy report.txt)
	echo "# accuracy $acc"
	awk -v a="$acc" 'BEGIN { exit !(a >= 0.95) }'
}

@test "tokenize --vocab-from MODEL gives the training ids, width and classes" {
	tokenize -q --label-field 1 --vocab-from model.tnz -o again.tnz train.tsv
	for t in x lengths y; do
		tnz export -t $t -f csv -o a.csv again.tnz
		tnz export -t $t -f csv -o b.csv train.tnz
		cmp a.csv b.csv
	done
	[ "$(tnz meta again.tnz classes)" = "$(tnz meta train.tnz classes)" ]
}

# ---- cnn-eval --predict --text ----------------------------------------------------

@test "--text: class, probability and the line, as --predict --tsv on the tokenised data" {
	cut -f2 test.tsv | cnn-eval -m model.tnz --predict --text - >text.out
	cnn-eval -m model.tnz --predict --tsv test.tnz | cut -f2,3 >tsv.out
	[ "$(cut -f1,2 text.out)" = "$(cat tsv.out)" ]
	[ "$(cut -f3- text.out)" = "$(cut -f2 test.tsv)" ]
	# Batches of 7 lines, a file, -o: the same lines.
	cut -f2 test.tsv >sentences.txt
	cnn-eval -m model.tnz --predict --tsv --text sentences.txt --batch 7 -o text7.out
	cmp text.out text7.out
	# The labels of the test set, from the probabilities alone.
	[ "$(cut -f1 text.out)" = "$(cut -f1 test.tsv)" ]
}

@test "--text in a pipe: class names from the model, empty lines, CRLF, tabs" {
	run sh -c 'echo "GREAT phone, I love it" | cnn-eval -m model.tnz --predict --text -'
	[ "$status" -eq 0 ]
	[[ "$output" == "pos"$'\t'0.9*$'\t'"GREAT phone, I love it" ]]
	printf 'awful battery\r\n\nnice\tfilm\n' >odd.txt
	run cnn-eval -m model.tnz --predict --text odd.txt
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" == "neg"$'\t'*$'\t'"awful battery" ]]
	[[ "${lines[1]}" == [np][eo][gs]$'\t'*$'\t' ]] # an empty line: all padding
	[[ "${lines[2]}" == "pos"$'\t'*$'\t'"nice"$'\t'"film" ]]
	# No input, no output.
	run cnn-eval -m model.tnz --predict --text /dev/null
	[ "$status" -eq 0 ] && [ -z "$output" ]
}

@test "--text: lines longer than the model's input are cut and counted" {
	T=$(tnz meta model.tnz input_shape)
	long=$(yes great | head -n $((T + 5)) | tr '\n' ' ')
	printf 'bad\n%s\n' "$long" >long.txt
	run cnn-eval -m model.tnz --predict --text long.txt
	[ "$status" -eq 0 ]
	[ "${lines[2]}" = "cnn-eval: warning: 1 of 2 lines cut to the model's $T tokens" ]
}

@test "--text streams: a closed pipe is quiet, memory does not grow with the input" {
	yes 'the plot was awful' | head -n 200000 >many.txt
	status=0
	first=$( (cnn-eval -m model.tnz --predict --text many.txt 2>err.txt; echo $? >rc) | head -n 1)
	[[ "$first" == "neg"$'\t'* ]]
	[ ! -s err.txt ]
	rc=$(cat rc)
	[ "$rc" -eq 141 ] || [ "$rc" -eq 0 ]
	# 200000 lines in batches of 256 take no more memory than 2000 lines.
	[ -x /usr/bin/time ] || skip "no /usr/bin/time"
	! ldd "$(command -v cnn-eval)" | grep -q libasan || skip "AddressSanitizer holds freed memory"
	head -n 2000 many.txt >few.txt
	for f in few many; do
		/usr/bin/time -f '%M' -o $f.mem cnn-eval -m model.tnz --predict --text $f.txt \
			--threads 1 -o /dev/null
	done
	echo "# max RSS: $(cat few.mem) KiB for 2000 lines, $(cat many.mem) KiB for 200000"
	[ "$(cat many.mem)" -lt $(($(cat few.mem) + 4096)) ]
}

@test "--text: usage errors and models it cannot read" {
	run cnn-eval -m model.tnz --text test.tsv
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "cnn-eval: --text goes with --predict" ]
	run cnn-eval -m model.tnz --predict --text - test.tnz
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = 'cnn-eval: --text reads the sentences: no DATA file (got "test.tnz")' ]
	run cnn-eval -m model.tnz --predict --text nonexistent.txt
	[ "$status" -eq 1 ]
	[ "$output" = "cnn-eval: nonexistent.txt: No such file or directory" ]
	tnz meta -d vocab -o novocab.tnz model.tnz
	run cnn-eval -m novocab.tnz --predict --text test.tsv
	[ "$status" -eq 1 ]
	[[ "$output" == 'cnn-eval: novocab.tnz: no vocabulary (metadata "vocab"): --text needs'* ]]
	# Without tokenizer settings (models from before they were kept):
	# tokenize's defaults, with a warning.
	tnz meta -d tokenizer -o notok.tnz model.tnz
	run sh -c 'echo good | cnn-eval -m notok.tnz --predict --text - 2>&1 >/dev/null'
	[ "$output" = 'cnn-eval: warning: notok.tnz: no tokenizer settings (metadata "tokenizer"): tokenize'"'"'s defaults are used' ]
	tnz meta -s tokenizer=mode=bytes -o badtok.tnz model.tnz
	run cnn-eval -m badtok.tnz --predict --text test.tsv
	[ "$status" -eq 1 ]
	[[ "$output" == *'metadata "tokenizer": tokenizer setting "mode=bytes": expected word or char' ]]
}

# ---- bad input ----------------------------------------------------------------------

@test "a foreign vocabulary is refused, with the command that fixes it" {
	# tokenize run on the test set alone: its own ids.
	tokenize -q --label-field 1 -o own.tnz test.tsv
	run cnn-eval -m model.tnz own.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == "cnn-eval: own.tnz: the vocabulary "*" the model"*": tokenize the text with --vocab-from model.tnz" ]]
	# The same size in another order: ids that mean other words.
	tokenize -q --label-field 1 --vocab-out v.txt -o /dev/null train.tsv
	awk 'NR == 3 { third = $0; next } NR == 4 { print; print third; next } { print }' v.txt >v2.txt
	tokenize -q --label-field 1 --vocab-from v2.txt --maxlen 10 -o swapped.tnz test.tsv
	run cnn-eval -m model.tnz swapped.tnz
	[ "$status" -eq 1 ]
	w3=$(sed -n 3p v.txt | cut -f1)
	w4=$(sed -n 4p v.txt | cut -f1)
	[ "$output" = "cnn-eval: swapped.tnz: the vocabulary differs from the model's: id 2 is \"$w4\" here, \"$w3\" in the model: tokenize the text with --vocab-from model.tnz" ]
	run cnn-eval -m model.tnz --predict swapped.tnz -o p.tnz
	[ "$status" -eq 1 ]
	# cnn-train: validation data and --init models must share the vocabulary.
	run cnn-train --arch "$ARCH" --epochs 1 -q --val own.tnz -o m2.tnz train.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == "cnn-train: --val own.tnz: the vocabulary "*" the training data"* ]]
	tokenize -q --label-field 1 --vocab-from v2.txt -o swapped-train.tnz train.tsv
	run cnn-train --arch "$ARCH" --epochs 1 -q --init model.tnz -o m2.tnz swapped-train.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == "cnn-train: --init model.tnz: swapped-train.tnz: the vocabulary differs from the model's: id 2 is"* ]]
}

@test "data without a vocabulary: ids below the model's size are taken, with a warning" {
	tnz meta -d vocab -o novocab.tnz test.tnz
	run sh -c 'cnn-eval -m model.tnz novocab.tnz 2>err.txt'
	[ "$status" -eq 0 ]
	[ "$(cat err.txt)" = 'cnn-eval: warning: novocab.tnz has no vocabulary (metadata "vocab"): its token ids are taken to be the model'"'"'s' ]
	cnn-eval -m model.tnz test.tnz >with.txt
	[ "$output" = "$(cat with.txt)" ]
	# Ids beyond the model's vocabulary: an error, not a crash.
	yes 'zz1 zz2 zz3 zz4 zz5 zz6 zz7 zz8 zz9 zz10' | head -n 60 | nl -ba | tr '\t' ' ' |
		sed 's/^/pos\t/' >big.tsv
	T=$(tnz meta model.tnz input_shape)
	tokenize -q --label-field 1 --maxlen "$T" -o big.tnz big.tsv
	tnz meta -d vocab -o big-novocab.tnz big.tnz
	run cnn-eval -m model.tnz big-novocab.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == *"big-novocab.tnz: data has token ids up to "*", the model's vocabulary has "*" tokens" ]]
}

@test "token ids past the vocabulary: an error naming the row, for cnn-train and cnn-eval" {
	printf '<pad>\n<unk>\ngood\n' >short.txt
	tnz meta -s vocab=@short.txt -o bad.tnz test.tnz
	run cnn-eval -m model.tnz bad.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == "cnn-eval: bad.tnz: x row "*", position "*": token id "*" is out of range [0, 3)" ]]
	run cnn-train --arch "$ARCH" --epochs 1 -q -o m3.tnz bad.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == "cnn-train: bad.tnz: x row "*": token id "*" is out of range [0, 3)" ]]
	[ ! -e m3.tnz ]
}

@test "empty sentences: rows of length 0, a warning; training and evaluation stay finite" {
	awk -F'\t' 'NR % 3 == 0 { print $1 "\t"; next } NR % 3 == 1 { print $1 "\t!!! ..."; next } { print }' \
		train.tsv >empty.tsv
	run tokenize --label-field 1 -o empty.tnz empty.tsv
	[ "$status" -eq 0 ]
	[ "$output" = "tokenize: warning: 200 of 300 documents have no tokens: rows of length 0, all padding" ]
	[ "$(tnz export -t lengths -f csv empty.tnz | grep -cx 0)" -eq 200 ]
	run cnn-train --arch "$ARCH" --optim adam --lr 0.02 --epochs 3 --threads 1 -o empty-model.tnz \
		--log empty-log.tsv empty.tnz
	[ "$status" -eq 0 ]
	! grep -qi nan empty-log.tsv
	run cnn-eval -m empty-model.tnz --json empty.tnz
	[ "$status" -eq 0 ]
	[[ "$output" != *null* && "$output" != *nan* ]]
}

@test "a label column missing on a line: an error with the line number" {
	printf 'pos\tgood film\ngreat phone\nneg\tbad\n' >nolabel.tsv
	run tokenize --label-field 1 -o out.tnz nolabel.tsv
	[ "$status" -eq 1 ]
	[ "$output" = "tokenize: nolabel.tsv: line 2: no tab: expected a label and a text, tab-separated" ]
	[ ! -e out.tnz ]
	printf 'pos\tgood film\n\n' >blank.tsv
	run tokenize --label-field 1 -o out.tnz blank.tsv
	[ "$status" -eq 1 ]
	[ "$output" = "tokenize: blank.tsv: line 2: empty line: expected a label and a text, tab-separated" ]
	run tokenize --label-field 1 --vocab-from model.tnz -o out.tnz nolabel.tsv
	[ "$status" -eq 1 ]
	[[ "$output" == "tokenize: nolabel.tsv: line 2: no tab: "* ]]
}

# ---- word vectors ----------------------------------------------------------------------

@test "embedding init=: words found are reported; -q is quiet; --init keeps stored weights" {
	cut -f2 train.tsv | embed train --dim 8 --min-count 1 --epochs 1 --threads 1 -q -o vec8.tnz
	words=$(($(tnz meta train.tnz vocab | grep -c .) - 2))
	found=$(($(tnz meta vec8.tnz vocab | grep -c .) - 2)) # every word of train.tsv
	run cnn-train --arch "embedding 8 init=vec8.tnz trainable=no; conv1d 8 2,3 relu; globalmaxpool; dense 1 sigmoid" \
		--epochs 1 --threads 1 -o vec-model.tnz train.tnz
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "cnn-train: embedding: $found of $words words found in vec8.tnz" ]
	# The frozen rows are the vectors: "good" in the model is "good" in vec8.
	good_model=$(tnz meta train.tnz vocab | grep -nx good | cut -d: -f1)
	good_vec=$(tnz meta vec8.tnz vocab | grep -nx good | cut -d: -f1)
	tnz export -t 0.embedding.weight -f csv -o w.csv vec-model.tnz
	tnz export -t vectors -f csv -o v.csv vec8.tnz
	[ "$(sed -n "${good_model}p" w.csv)" = "$(sed -n "${good_vec}p" v.csv)" ]
	run cnn-train -q --arch "embedding 8 init=vec8.tnz; conv1d 8 2,3 relu; globalmaxpool; dense 1 sigmoid" \
		--epochs 1 --threads 1 -o vec-model.tnz train.tnz
	[ "$status" -eq 0 ] && [ -z "$output" ]
	# --init: the stored weights win, the init= file is not read.
	run cnn-train --arch "embedding 8 init=gone.tnz trainable=no; conv1d 8 2,3 relu; globalmaxpool; dense 1 sigmoid" \
		--epochs 1 --threads 1 --init vec-model.tnz -o init-model.tnz train.tnz
	[ "$status" -eq 0 ]
	[[ "$output" != *"embedding:"* ]]
}

@test "embedding init=: a dimension mismatch and a missing file are errors" {
	cut -f2 train.tsv | embed train --dim 4 --min-count 1 --epochs 1 --threads 1 -q -o vec4.tnz
	run cnn-train --arch "$ARCH" --arch "embedding 8 init=vec4.tnz; globalmaxpool; dense 1 sigmoid" \
		--epochs 1 -o bad-model.tnz train.tnz
	[ "$status" -eq 1 ]
	[ "$output" = 'cnn-train: --arch: layer 1 "embedding 8 init=vec4.tnz": vec4.tnz: vectors of dimension 4, the layer'"'"'s is 8' ]
	run cnn-train --arch "embedding 8 init=nowhere.tnz; globalmaxpool; dense 1 sigmoid" \
		--epochs 1 -o bad-model.tnz train.tnz
	[ "$status" -eq 1 ]
	[ "$output" = 'cnn-train: --arch: layer 1 "embedding 8 init=nowhere.tnz": nowhere.tnz: No such file or directory' ]
	tnz meta -d vocab -o train-novocab.tnz train.tnz
	run cnn-train --arch "embedding 4 init=vec4.tnz; globalmaxpool; dense 1 sigmoid" \
		--epochs 1 -o bad-model.tnz train-novocab.tnz
	[ "$status" -eq 1 ]
	[[ "$output" == *"the data has no vocabulary (metadata vocab) to match the words of vec4.tnz with" ]]
	[ ! -e bad-model.tnz ]
}

# ---- characters ------------------------------------------------------------------------

@test "a character-level model trains, evaluates and predicts with --text" {
	tokenize -q --char --label-field 1 -o char-train.tnz train.tsv
	tokenize -q --label-field 1 --vocab-from char-train.tnz -o char-test.tnz test.tsv
	[[ "$(tnz meta char-test.tnz tokenizer)" == "mode=char "* ]]
	cnn-train --arch 'embedding 8; conv1d 8 3,5 relu; globalmaxpool; dense 1 sigmoid' \
		--optim adam --lr 0.02 --epochs 10 --batch 32 --threads 1 -q -o char-model.tnz char-train.tnz
	[[ "$(tnz meta char-model.tnz tokenizer)" == "mode=char "* ]]
	cnn-eval -m char-model.tnz char-test.tnz >char-report.txt
	acc=$(accuracy char-report.txt)
	echo "# accuracy $acc"
	awk -v a="$acc" 'BEGIN { exit !(a >= 0.8) }'
	cut -f2 test.tsv | cnn-eval -m char-model.tnz --predict --text - | cut -f1,2 >char-text.out
	cnn-eval -m char-model.tnz --predict --tsv char-test.tnz | cut -f2,3 >char-tsv.out
	cmp char-text.out char-tsv.out
}

# ---- determinism -----------------------------------------------------------------------

@test "same seed, same threads: bit-identical model files, with 1 and with 2 threads" {
	for threads in 1 2; do
		for run in a b; do
			mkdir -p "det-$threads-$run"
			(cd "det-$threads-$run" &&
				cnn-train --arch "$ARCH" --optim adam --lr 0.01 --epochs 2 --batch 16 --seed 7 \
					--threads $threads -q -o model.tnz ../train.tnz)
		done
		cmp "det-$threads-a/model.tnz" "det-$threads-b/model.tnz"
	done
}
