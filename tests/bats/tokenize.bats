#!/usr/bin/env bats
# tokenize(1): tokens as a reader expects them, agreement with the Python
# reference tests/python/tokenize_ref.py on a multi-megabyte corpus, the
# dataset it writes (read back with tools/tnz.py), fixed vocabularies, and the
# failure contract.

py=/usr/bin/python3

setup() {
	cd "$BATS_TEST_TMPDIR"
	top=${CK_TOP:-$BATS_TEST_DIRNAME/../..}
	ref="$top/tests/python/tokenize_ref.py"
}

# show FILE: tensors and metadata of a TNZ file, one per line, via tools/tnz.py.
show() {
	"$py" - "$top/tools" "$1" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import tnz
t = tnz.load(sys.argv[2])
for name, a in t.tensors.items():
    print(name, str(a.dtype), list(a.shape), " ".join(str(v) for v in a.reshape(-1).tolist()))
for k, v in t.meta.items():
    if k != "created_by":
        print(k, v.replace("\n", "|"))
PY
}

# A corpus of about 8 MB made from a word list (with accents, capitals,
# apostrophes, hyphens, numbers and punctuation), the same on every run.
make_corpus() {
	awk 'BEGIN {
		n = split("A ação AÇÃO da Petrobras subiu 3,5% em 2023 — não é pouco! O guarda-chuva d'"'"'água don'"'"'t DON’T Época época ÍNDIO coração, the The THE of and 1.000.000 (R$ 12,50) e-mail São Paulo: “aspas” Straße Łódź naïve café... rock-n-roll 14h30 x² ¿qué? über-cool", w, " ");
		s = 7;
		for (i = 0; i < 1200000; i++) {
			s = (s * 1103515245 + 12345) % 2147483648;
			printf "%s", w[1 + int(s / 65536) % n];
			printf (i % 19 == 18) ? "\n" : (i % 53 == 52) ? "\r\n" : (i % 5 == 4) ? "\t" : " ";
		}
		print "";
	}' >"$1"
}

# ---- help, version, usage errors ------------------------------------------------

@test "--help prints the usage on stdout and exits 0" {
	run tokenize --help
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "usage: tokenize [--label-field N] [--text-field N] [--maxlen L] [--vocab-from FILE]" ]
	[[ "$output" == *"--strip-accents"*"--threads N"*"Example:"* ]]
}

@test "--version prints the version" {
	run tokenize --version
	[ "$status" -eq 0 ]
	[[ "$output" == "tokenize (cnnkit) "[0-9]* ]]
}

@test "usage errors exit 2 with a short usage on stderr" {
	run tokenize --maxlen 0 -o out.tnz
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = 'tokenize: --maxlen "0": expected an integer from 1 to 16777216' ]
	[[ "${lines[1]}" == "usage: tokenize "* ]]
	run tokenize --label-field x
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == 'tokenize: --label-field "x": expected an integer from 1 to '* ]]
	run tokenize --text-field 0
	[ "$status" -eq 2 ]
	run tokenize --label-field 2 --text-field 2
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "tokenize: --label-field and --text-field are both 2" ]
	run tokenize --bogus
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "tokenize: unknown option --bogus" ]
	run tokenize --vocab-from v.txt --min-count 2
	[ "$status" -eq 2 ]
	run tokenize --char --punct
	[ "$status" -eq 2 ]
}

@test "failures exit 1 with the program name: missing file, missing label, bad vocabulary" {
	run tokenize -o out.tnz nonexistent.txt
	[ "$status" -eq 1 ]
	[ "$output" = "tokenize: nonexistent.txt: No such file or directory" ]
	[ ! -e out.tnz ]
	printf 'pos\tgood film\nbad film\nneg\tbad\n' >in.tsv
	run tokenize --label-field 1 --text-field 2 -o out.tnz in.tsv
	[ "$status" -eq 1 ]
	[ "$output" = "tokenize: in.tsv: line 2: no text: fewer than 2 tab-separated fields" ]
	run tokenize --label-field 2 -o out.tnz in.tsv
	[ "$status" -eq 1 ]
	[ "$output" = "tokenize: in.tsv: line 2: no label: fewer than 2 tab-separated fields" ]
	[ ! -e out.tnz ]
	[ -z "$(ls -A | grep '\.tmp')" ]
	printf 'the\t3\n' >bad-vocab.txt
	run tokenize --vocab-from bad-vocab.txt -o out.tnz in.tsv
	[ "$status" -eq 1 ]
	[[ "$output" == 'tokenize: bad-vocab.txt: line 1: expected "<pad>"'* ]]
	printf 'pos\n' >classes.txt
	run tokenize --label-field 1 --classes-from classes.txt -o out.tnz in.tsv
	[ "$status" -eq 1 ]
}

@test "TNZ output to a terminal is refused" {
	command -v script >/dev/null || skip "no script(1)"
	run script -qec "echo hi | tokenize" /dev/null
	[[ "$output" == *"terminal"* ]]
}

# ---- tokens as a reader expects them --------------------------------------------

@test "a Portuguese sentence: accents, capitals, punctuation and numbers" {
	s='A AÇÃO da Petrobras subiu 3,5% em 2023 — não é pouco!'
	run sh -c "printf '%s\n' '$s' | tokenize --text"
	[ "$output" = "a ação da petrobras subiu 3,5 em 2023 não é pouco" ]
	run sh -c "printf '%s\n' '$s' | tokenize --text --punct"
	[ "$output" = "a ação da petrobras subiu 3,5 % em 2023 — não é pouco !" ]
	run sh -c "printf '%s\n' '$s' | tokenize --text --strip-accents"
	[ "$output" = "a acao da petrobras subiu 3,5 em 2023 nao e pouco" ]
	run sh -c "printf '%s\n' '$s' | tokenize --text --no-lower"
	[ "$output" = "A AÇÃO da Petrobras subiu 3,5 em 2023 não é pouco" ]
	run sh -c "printf 'Não é!\n' | tokenize --text --char"
	[ "$output" = "n ã o é !" ]
	run sh -c "printf 'O guarda-chuva d’água: “Não sei”, DON’T (R\$ 1.250,00).\n' | tokenize --text"
	[ "$output" = "o guarda-chuva d'água não sei don't r 1.250,00" ]
}

@test "CRLF, empty lines, tabs, a last line without newline" {
	printf 'Um\r\n\r\n\ndois\ttrês\r\nfim' >in.txt
	run tokenize --text in.txt
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'um\n\n\ndois três\nfim')" ]
	tokenize -o out.tnz in.txt
	run show out.tnz
	[ "${lines[0]}" = "x int32 [5, 2] 5 0 0 0 0 0 2 4 3 0" ]
	[ "${lines[1]}" = "lengths int32 [5] 1 0 0 2 1" ]
}

@test "invalid UTF-8 is replaced, counted and warned about" {
	printf 'ab\377cd\n\342\200 ok\n' >bad.txt
	run tokenize --text bad.txt
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "tokenize: warning: bad.txt: 2 invalid UTF-8 sequences replaced by U+FFFD" ]
	[ "${lines[1]}" = "ab cd" ]
	[ "${lines[2]}" = "ok" ]
	run tokenize -q --text bad.txt
	[ "${#lines[@]}" -eq 2 ]
}

@test "a 5 MB line" {
	awk 'BEGIN { for (i = 0; i < 700000; i++) printf "Palavra%d ", i % 1000; print ""; print "fim" }' >long.txt
	[ "$(wc -c <long.txt)" -gt 5000000 ]
	run tokenize --text long.txt
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[ "$(printf '%s\n' "${lines[0]}" | wc -w)" -eq 700000 ]
	[[ "${lines[0]}" == "palavra0 palavra1 "* ]]
	run tokenize -o out.tnz long.txt
	[ "$status" -eq 0 ]
	[ "$output" = "tokenize: warning: 1 of 2 documents cut to 1000 tokens (the longest has 700000; see --maxlen)" ]
	run show out.tnz
	[[ "${lines[0]}" == "x int32 [2, 1000] "* ]]
	[ "${lines[1]}" = "lengths int32 [2] 1000 1" ]
}

# ---- agreement with the Python reference ---------------------------------------

@test "the vocabulary counts agree with the Python reference on an 8 MB corpus" {
	make_corpus corpus.txt
	[ "$(wc -c <corpus.txt)" -gt 6000000 ]
	tokenize --text --vocab-out vocab.txt --threads 2 corpus.txt >tokens.txt
	"$py" "$ref" --vocab corpus.txt >vocab-ref.txt 2>/dev/null
	cmp vocab.txt vocab-ref.txt
	"$py" "$ref" --text corpus.txt >tokens-ref.txt 2>/dev/null
	cmp tokens.txt tokens-ref.txt
	tokenize --text --punct --strip-accents --threads 1 corpus.txt >p.txt
	"$py" "$ref" --text --punct --strip-accents corpus.txt >p-ref.txt 2>/dev/null
	cmp p.txt p-ref.txt
	[ "$(sed -n 3p vocab.txt | cut -f1)" != "" ]
}

@test "the KJV Bible: same vocabulary as the Python reference (when bible-kjv is installed)" {
	command -v bible >/dev/null || skip "no bible(1) (Debian package bible-kjv)"
	bible -f Gen1:1-Rev22:21 >kjv.txt
	tokenize -q --vocab-out vocab.txt -o kjv.tnz kjv.txt
	"$py" "$ref" --vocab kjv.txt >vocab-ref.txt 2>/dev/null
	cmp vocab.txt vocab-ref.txt
}

@test "the output does not depend on the thread count" {
	make_corpus corpus.txt
	# Field 1 is the label: a line without a tab would have none (an error).
	awk '!/\t/ { $0 = "none\t" $0 } 1' corpus.txt >labelled.txt
	tokenize --label-field 1 --min-count 3 --threads 1 -o one.tnz labelled.txt
	tokenize --label-field 1 --min-count 3 --threads 2 -o two.tnz labelled.txt
	show one.tnz >one.txt
	show two.tnz >two.txt
	cmp one.txt two.txt
}

# ---- datasets -----------------------------------------------------------------

@test "labels, classes, vocabulary order, ids and padding" {
	printf 'pos\tBom filme, bom!\nneg\tfilme ruim\npos\tbom\nmeh\t\n' >train.tsv
	tokenize --label-field 1 --vocab-out vocab.txt -o train.tnz train.tsv
	run show train.tnz
	[ "${lines[0]}" = "x int32 [4, 3] 2 3 2 3 4 0 2 0 0 0 0 0" ]
	[ "${lines[1]}" = "lengths int32 [4] 3 2 1 0" ]
	[ "${lines[2]}" = "y int32 [4] 2 1 2 0" ]
	[ "${lines[3]}" = "vocab <pad>|<unk>|bom|filme|ruim|" ]
	[ "${lines[4]}" = "tokenizer mode=word punct=0 lower=1 strip_accents=0 unicode=14.0.0" ]
	[ "${lines[5]}" = "classes meh|neg|pos|" ]
	[ "$(cat vocab.txt)" = "$(printf '<pad>\t0\n<unk>\t0\nbom\t3\nfilme\t2\nruim\t1')" ]
}

@test "--min-count, --max-vocab and --maxlen" {
	printf 'a a a b b c\nd\n' >in.txt
	tokenize --min-count 2 --maxlen 4 --vocab-out v.txt -o out.tnz in.txt
	run show out.tnz
	[ "${lines[0]}" = "x int32 [2, 4] 2 2 2 3 1 0 0 0" ]
	[ "${lines[1]}" = "lengths int32 [2] 4 1" ]
	[ "$(sed -n 2p v.txt)" = "$(printf '<unk>\t2')" ]
	tokenize --max-vocab 3 -o out.tnz in.txt
	run show out.tnz
	[ "${lines[2]}" = "vocab <pad>|<unk>|a|" ]
}

@test "--vocab-from a dataset streams with its ids, width and classes" {
	printf 'pos\tbom filme\nneg\tfilme ruim demais\n' >train.tsv
	printf 'neg\tfilme novo\nneg\truim\n' >test.tsv
	tokenize --label-field 1 -o train.tnz train.tsv
	tokenize --label-field 1 --vocab-from train.tnz -o test.tnz test.tsv
	run show test.tnz
	[ "${lines[0]}" = "x int32 [2, 3] 2 1 0 5 0 0" ]
	[ "${lines[2]}" = "y int32 [2] 0 0" ]
	[[ "$output" == *"classes neg|pos|"* ]]
	# From a vocab.txt: the longest document sets the width.
	tokenize --label-field 1 --vocab-out v.txt -o /dev/null train.tsv
	tokenize --label-field 1 --vocab-from v.txt -o test2.tnz test.tsv
	run show test2.tnz
	[ "${lines[0]}" = "x int32 [2, 2] 2 1 5 0" ]
	# --text with a fixed vocabulary writes <unk>.
	run tokenize --text --label-field 1 --vocab-from train.tnz test.tsv
	[ "${lines[0]}" = "$(printf 'neg\tfilme <unk>')" ]
	# An unknown label is an error naming the line.
	printf 'meh\tfilme\n' >odd.tsv
	run tokenize --label-field 1 --vocab-from train.tnz -o odd.tnz odd.tsv
	[ "$status" -eq 1 ]
	[ "$output" = 'tokenize: odd.tsv: line 1: label "meh" is not one of the classes of train.tnz' ]
	[ ! -e odd.tnz ]
}

@test "--vocab-from a model: its vocabulary, classes and input length" {
	# A file with a token model's metadata (cnn-train writes the same keys).
	"$py" - "$top/tools" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import tnz
tnz.save("model.tnz", {"0.embedding.weight": np.zeros((4, 2), np.float32)},
         {"arch": "embedding 2; globalmaxpool; dense 2", "input_kind": "tokens",
          "input_shape": "5", "vocab": "<pad>\n<unk>\nbom\nruim\n", "classes": "neg\npos\n"})
PY
	printf 'pos\tbom bom novo\nneg\truim\n' >new.tsv
	tokenize --label-field 1 --vocab-from model.tnz -o new.tnz new.tsv
	run show new.tnz
	[ "${lines[0]}" = "x int32 [2, 5] 2 2 1 0 0 3 0 0 0 0" ]
	[ "${lines[1]}" = "lengths int32 [2] 3 1" ]
	[ "${lines[2]}" = "y int32 [2] 1 0" ]
	[[ "$output" == *"classes neg|pos|"* ]]
}

@test "--vocab-from a file with tokenizer settings tokenises as it did" {
	printf 'pos\tBoa\nneg\truim!\n' >c.tsv
	tokenize -q --char --no-lower --label-field 1 -o char.tnz c.tsv
	# No option: the file's settings (characters, case kept).
	printf 'neg\tBar\n' >new.tsv
	tokenize -q --label-field 1 --vocab-from char.tnz -o new.tnz new.tsv
	[ "$(tnz meta new.tnz tokenizer)" = "$(tnz meta char.tnz tokenizer)" ]
	run tokenize --text --label-field 1 --vocab-from char.tnz new.tsv
	[ "$output" = "$(printf 'neg\tB a r')" ]
	# The same options again are fine; another one is refused.
	tokenize -q --char --no-lower --label-field 1 --vocab-from char.tnz -o new.tnz new.tsv
	run tokenize --label-field 1 --vocab-from char.tnz --strip-accents -o bad.tnz new.tsv
	[ "$status" -eq 1 ]
	[[ "$output" == "tokenize: --strip-accents does not match the tokenizer of char.tnz (mode=char punct=0 lower=0 strip_accents=0 unicode="*"), whose ids --vocab-from gives: leave it out" ]]
	[ ! -e bad.tnz ]
	tnz meta -s tokenizer=mode=bytes -o odd.tnz char.tnz
	run tokenize --vocab-from odd.tnz -o bad.tnz new.tsv
	[ "$status" -eq 1 ]
	[ "$output" = 'tokenize: odd.tnz: metadata "tokenizer": tokenizer setting "mode=bytes": expected word or char' ]
	# A vocab.txt has no settings: the options given are used.
	tokenize -q --vocab-out v.txt -o /dev/null c.tsv
	run tokenize --text --char --vocab-from v.txt new.tsv
	[ "$output" = "<unk> <unk> <unk> <unk> <unk> <unk>" ]
}

@test "bad input: a line without its label, an empty document, a document past --maxlen" {
	printf 'pos\tgood film\ngreat phone\n' >nolabel.tsv
	run tokenize --label-field 1 -o out.tnz nolabel.tsv
	[ "$status" -eq 1 ]
	[ "$output" = "tokenize: nolabel.tsv: line 2: no tab: expected a label and a text, tab-separated" ]
	printf 'pos\tgood\n\n' >blank.tsv
	run tokenize --label-field 1 --text blank.tsv
	[ "$status" -eq 1 ]
	[ "$output" = "tokenize: blank.tsv: line 2: empty line: expected a label and a text, tab-separated" ]
	# --text-field names the text: a line without it is the error.
	run tokenize --label-field 1 --text-field 2 -o out.tnz nolabel.tsv
	[ "$status" -eq 1 ]
	[ "$output" = "tokenize: nolabel.tsv: line 2: no text: fewer than 2 tab-separated fields" ]
	[ ! -e out.tnz ]
	# A label and no words: kept as a row of length 0, counted.
	printf 'pos\tgood film\nneg\t\nneg\t...\n' >empty.tsv
	run tokenize --label-field 1 -o out.tnz empty.tsv
	[ "$status" -eq 0 ]
	[ "$output" = "tokenize: warning: 2 of 3 documents have no tokens: rows of length 0, all padding" ]
	run show out.tnz
	[ "${lines[1]}" = "lengths int32 [3] 2 0 0" ]
	run tokenize -q --label-field 1 -o out.tnz empty.tsv
	[ -z "$output" ]
	# Past --maxlen: cut, counted.
	printf 'a b c d e f g\na b\nc d e f g\n' >long.txt
	run tokenize --maxlen 4 -o out.tnz long.txt
	[ "$output" = "tokenize: warning: 2 of 3 documents cut to 4 tokens (the longest has 7; see --maxlen)" ]
	run show out.tnz
	[ "${lines[1]}" = "lengths int32 [3] 4 2 4" ]
}

@test "standard input, several files, -o -" {
	printf 'um dois\n' >a.txt
	printf 'três\n' | tokenize --text a.txt - >out.txt
	[ "$(cat out.txt)" = "$(printf 'um dois\ntrês')" ]
	printf 'um\n' | tokenize -o - >s.tnz
	run show s.tnz
	[ "${lines[0]}" = "x int32 [1, 1] 2" ]
}

@test "a write error is a failure" {
	[ -w /dev/full ] || skip "no /dev/full"
	printf 'um dois\n' >a.txt
	run tokenize --text -o /dev/full a.txt
	[ "$status" -eq 1 ]
	[[ "$output" == "tokenize: write error on /dev/full: No space left on device" ]]
}
