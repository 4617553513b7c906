#!/usr/bin/env bats
# embed(1): training on a corpus with planted structure (5 groups of 4 words,
# wap waq war was, wbp ... wes; each line holds words of one group, so a
# word's nearest words are its group), the exchange formats and their round trips, gensim and fastText
# interoperability (skipped when absent), apply, queries, and the failure
# contract.

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	# 3000 lines of 8 words, each line from one group (awk's rand is
	# seeded: the corpus is the same every run).
	awk 'BEGIN { srand(1); for (s = 0; s < 3000; s++) { g = substr("abcde", int(rand() * 5) + 1, 1);
	       line = ""; for (k = 0; k < 8; k++)
	           line = line (k ? " " : "") "w" g substr("pqrs", int(rand() * 4) + 1, 1);
	       print line } }' > corpus.txt
	embed train -q --dim 16 --window 3 --epochs 3 --min-count 1 --sample 0 --threads 1 \
		--seed 3 -o vec.tnz corpus.txt
}

setup() {
	cd "$BATS_FILE_TMPDIR"
}

have_numpy() {
	/usr/bin/python3 -c 'import numpy' 2>/dev/null
}

tnzpy() {
	/usr/bin/python3 "${CK_TOP:-$BATS_TEST_DIRNAME/../..}/tools/tnz.py" "$@"
}

# ---- help, version, usage errors -------------------------------------------

@test "--help prints the usage on stdout and exits 0" {
	run embed --help
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "usage: embed train [OPTIONS] [-o OUT] [CORPUS...]" ]
	[[ "$output" == *"--min-count M"*"--sample T"*"Example:"* ]]
	run embed train --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"embed nearest"* ]]
}

@test "--version prints the version" {
	run embed --version
	[ "$status" -eq 0 ]
	[[ "$output" == "embed (cnnkit) "[0-9]* ]]
}

@test "usage errors exit 2 with a short usage on stderr" {
	run embed
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "embed: no command: train, apply, import, export, nearest or analogy" ]
	run embed frobnicate
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == 'embed: unknown command "frobnicate"'* ]]
	run embed train --dim 0 -o x.tnz corpus.txt
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = 'embed: --dim "0": expected an integer from 1 to 65536' ]
	run embed train --sample 2 -o x.tnz corpus.txt
	[ "$status" -eq 2 ]
	run embed train --neg 1x -o x.tnz corpus.txt
	[ "$status" -eq 2 ]
	run embed train --bogus corpus.txt
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "embed: unknown option --bogus" ]
	run embed nearest --dim 3 -m vec.tnz wap
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "embed: nearest does not take --dim" ]
	run embed nearest -m vec.tnz
	[ "$status" -eq 2 ]
	run embed analogy -m vec.tnz a b
	[ "$status" -eq 2 ]
	run embed nearest wap
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "embed: no vectors: use -m VECTORS" ]
	run embed export --format xml vec.tnz
	[ "$status" -eq 2 ]
	[ ! -e x.tnz ]
}

# ---- train -----------------------------------------------------------------

@test "train: every word's three nearest words are its group" {
	for g in a b c d e; do
		run embed nearest -k 3 -m vec.tnz "w${g}p"
		[ "$status" -eq 0 ]
		[ "${#lines[@]}" -eq 3 ]
		for l in "${lines[@]}"; do
			[[ "$l" == "w${g}p	w${g}"[qrs]"	0."* ]]
		done
	done
}

@test "train: the embeddings file holds <pad>, <unk>, then words by count" {
	run embed export --format text vec.tnz
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "20 16" ]
	if have_numpy; then
		run tnzpy info vec.tnz
		[ "$status" -eq 0 ]
		run /usr/bin/python3 -c "
import sys; sys.path.insert(0, '${CK_TOP:-$BATS_TEST_DIRNAME/../..}/tools'); import tnz
t = tnz.load('vec.tnz'); v = t.meta['vocab'].splitlines()
assert t['vectors'].shape == (22, 16) and t['vectors'].dtype == 'float32', t['vectors'].shape
assert v[:2] == ['<pad>', '<unk>'] and len(v) == 22
assert (t['vectors'][:2] == 0).all() and t['counts'][0] == 0 and t['counts'].sum() == 24000
assert list(t['counts'][2:]) == sorted(t['counts'][2:], reverse=True)
assert 'embed train' in t.meta['created_by']"
		[ "$status" -eq 0 ]
	fi
}

@test "train: --threads 1 with the same seed gives the same file; another seed does not" {
	embed train -q --dim 8 --epochs 1 --min-count 1 --threads 1 --seed 9 corpus.txt > a.tnz
	embed train -q --dim 8 --epochs 1 --min-count 1 --threads 1 --seed 9 corpus.txt > b.tnz
	embed train -q --dim 8 --epochs 1 --min-count 1 --threads 1 --seed 8 corpus.txt > c.tnz
	cmp a.tnz b.tnz
	! cmp -s a.tnz c.tnz
}

@test "train: CBOW, two threads, standard input" {
	embed train -q --cbow --dim 16 --window 3 --epochs 3 --min-count 1 --sample 0 \
		--threads 2 < corpus.txt > cbow.tnz
	run embed nearest -k 3 -m cbow.tnz wcq
	[ "$status" -eq 0 ]
	for l in "${lines[@]}"; do [[ "$l" == "wcq	wc"[prs]"	"* ]]; done
}

@test "train: raw text is tokenised (case, punctuation, CRLF)" {
	printf 'The CAT sat.\r\nthe cat, the dog!\n' > small.txt
	embed train -q --dim 4 --min-count 1 --threads 1 -o small.tnz small.txt
	run embed export --format glove small.tnz
	[ "$status" -eq 0 ]
	[ "$(cut -d' ' -f1 <<< "$output" | tr '\n' ' ')" = "the cat dog sat " ]
}

@test "train: a token dataset, from a file and from standard input" {
	have_numpy || skip "no NumPy under /usr/bin/python3"
	/usr/bin/python3 -c "
import sys; sys.path.insert(0, '${CK_TOP:-$BATS_TEST_DIRNAME/../..}/tools'); import tnz, numpy as np
words = open('corpus.txt').read().split('\n')[:-1]
vocab = ['<pad>', '<unk>'] + sorted({w for l in words for w in l.split()})
ix = {w: i for i, w in enumerate(vocab)}
x = np.zeros((len(words), 10), np.int32)
for n, l in enumerate(words):
    for k, w in enumerate(l.split()): x[n, k] = ix[w]
tnz.save('tokens.tnz', {'x': x, 'lengths': np.full(len(words), 8, np.int32)},
         {'vocab': ''.join(w + '\n' for w in vocab)})"
	embed train -q --dim 16 --window 3 --epochs 3 --min-count 1 --sample 0 --threads 1 \
		--seed 3 -o fromtnz.tnz tokens.tnz
	embed train -q --dim 16 --window 3 --epochs 3 --min-count 1 --sample 0 --threads 1 \
		--seed 3 -o fromstdin.tnz - < tokens.tnz
	run embed nearest -k 3 -m fromtnz.tnz wer
	for l in "${lines[@]}"; do [[ "$l" == "wer	we"[pqs]"	"* ]]; done
	embed export -o a.txt fromtnz.tnz
	embed export -o b.txt fromstdin.tnz
	cmp a.txt b.txt
}

@test "train: failures exit 1 and leave no output file" {
	run embed train -q --min-count 100000 -o none.tnz corpus.txt
	[ "$status" -eq 1 ]
	[ "$output" = "embed: no word occurs 100000 times or more (--min-count)" ]
	[ ! -e none.tnz ]
	run embed train -q -o none.tnz missing.txt
	[ "$status" -eq 1 ]
	[[ "$output" == "embed: missing.txt: No such file"* ]]
	[ ! -e none.tnz ]
}

# ---- export, import ---------------------------------------------------------

@test "export and import round-trip exactly in every format" {
	for f in text binary glove; do
		embed export --format $f -o vec.$f vec.tnz
		embed import -o back.tnz vec.$f
		embed export --format $f -o again.$f back.tnz
		cmp vec.$f again.$f
	done
	# The extension chooses the format; import detects it.
	embed export -o v.bin vec.tnz
	cmp v.bin vec.binary
	run embed import --format text vec.binary -o x.tnz
	[ "$status" -eq 1 ]
}

@test "import: a fastText .vec file" {
	printf '3 4\n</s> 0.1 0.2 0.3 0.4 \nthe -1 -2 -3 -4 \nand 1 2 3 4 \n' > hand.vec
	embed import -o hand.tnz hand.vec
	run embed nearest -k 1 -m hand.tnz and
	[ "$status" -eq 0 ]
	[ "$output" = "and	</s>	1.0000" ]
	command -v fasttext > /dev/null || skip "fasttext is not installed"
	fasttext skipgram -input corpus.txt -output ft -dim 8 -epoch 1 -minCount 1 -minn 0 -maxn 0 \
		-bucket 0 -thread 1 -verbose 0
	embed import -o ft.tnz ft.vec
	run embed export --format text ft.tnz
	[ "${lines[0]}" = "21 8" ]
}

@test "import: bad files exit 1 with the file and the line" {
	printf '2 3\na 1 2 3\nb 1 x 3\n' > bad.txt
	run embed import -o out.tnz bad.txt
	[ "$status" -eq 1 ]
	[ "$output" = 'embed: bad.txt: line 3: "x" is not a finite number' ]
	[ ! -e out.tnz ]
	printf '900000000 300\na 1\n' > big.txt
	run embed import -o out.tnz big.txt
	[ "$status" -eq 1 ]
	[[ "$output" == "embed: big.txt: header: 900000000 words of dimension 300 cannot fit"* ]]
	printf 'a 1 2\nb 3 4\na 5 6\n' > dup.txt
	run embed import -o dup.tnz dup.txt
	[ "$status" -eq 0 ]
	[ "$output" = 'embed: warning: dup.txt: 1 duplicate words kept their first vector (the first: "a")' ]
	head -c -20 vec.binary > cut.bin
	run embed import -o out.tnz cut.bin
	[ "$status" -eq 1 ]
	[ "$output" = "embed: cut.bin: record 20 of 20: truncated" ]
	head -c 100 vec.binary > cut.bin
	run embed import -o out.tnz cut.bin
	[ "$status" -eq 1 ]
	[ "$output" = "embed: cut.bin: header: 20 words of dimension 16 cannot fit in 94 bytes" ]
}

@test "gensim loads the word2vec text and binary files" {
	/usr/bin/python3 -c 'import gensim' 2>/dev/null || skip "gensim is not installed"
	run /usr/bin/python3 -c "
from gensim.models import KeyedVectors
t = KeyedVectors.load_word2vec_format('vec.text', binary=False)
b = KeyedVectors.load_word2vec_format('vec.binary', binary=True)
assert len(t) == 20 and t.vector_size == 16 and len(b) == 20
assert (t['wdr'] == b['wdr']).all()
print(t.most_similar('wdr', topn=1)[0][0][:2])"
	[ "$status" -eq 0 ]
	[ "$output" = "wd" ]
}

# ---- queries, apply -------------------------------------------------------------

@test "nearest: an unknown word is an error, the others are answered; case is folded" {
	run embed nearest -k 2 -m vec.tnz nosuchword WBP
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = 'embed: "nosuchword" is not in vec.tnz' ]
	[[ "${lines[1]}" == "wbp	wb"* ]]
	[ "${#lines[@]}" -eq 3 ]
	run embed analogy -m vec.tnz wap waq nosuchword
	[ "$status" -eq 1 ]
}

@test "analogy: b - a + c, excluding the three" {
	run embed analogy -k 3 -m vec.tnz wap waq wcp
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[[ "$output" != *"wap	"* && "$output" != *"waq	"* && "$output" != *"wcp	"* ]]
}

@test "apply: token ids to vectors, pooled or not" {
	have_numpy || skip "no NumPy under /usr/bin/python3"
	/usr/bin/python3 -c "
import sys; sys.path.insert(0, '${CK_TOP:-$BATS_TEST_DIRNAME/../..}/tools'); import tnz, numpy as np
vocab = '<pad>\n<unk>\nwap\nzzz\nwbq\n'
x = np.array([[2, 4, 3, 0], [1, 0, 0, 0]], np.int32)
tnz.save('ids.tnz', {'x': x, 'lengths': np.array([3, 1], np.int32), 'y': np.array([1, 0], np.int32)},
         {'vocab': vocab, 'classes': 'a\nb\n'})"
	embed apply -m vec.tnz -o seq.tnz ids.tnz
	embed apply -m vec.tnz --pool mean -o mean.tnz ids.tnz
	embed apply -m vec.tnz --pool max -o max.tnz < ids.tnz
	run /usr/bin/python3 -c "
import sys; sys.path.insert(0, '${CK_TOP:-$BATS_TEST_DIRNAME/../..}/tools'); import tnz, numpy as np
v = tnz.load('vec.tnz'); w = v.meta['vocab'].splitlines(); V = v['vectors']
a, b = V[w.index('wap')], V[w.index('wbq')]
s, m, x = tnz.load('seq.tnz'), tnz.load('mean.tnz'), tnz.load('max.tnz')
assert s['x'].shape == (2, 4, 16) and m['x'].shape == (2, 16)
assert (s['x'][0, 0] == a).all() and (s['x'][0, 1] == b).all() and (s['x'][0, 2:] == 0).all() and (s['x'][1] == 0).all()
assert np.allclose(m['x'][0], (a + b) / 2) and (m['x'][1] == 0).all()
assert (x['x'][0] == np.maximum(a, b)).all()
assert list(s['y']) == [1, 0] and list(s['lengths']) == [3, 1] and 'vocab' not in s.meta
assert s.meta['classes'] == 'a\nb\n'"
	[ "$status" -eq 0 ]
	run embed apply -m vec.tnz corpus.txt
	[ "$status" -eq 1 ]
}
