#!/bin/sh
# tools/bench/embed.sh: embed train against fastText on the King James Bible.
#
#   sh tools/bench/embed.sh            (make bench runs it; BUILD=dir for the build)
#
# Speed: skip-gram words/s/thread of `embed train` and of `fasttext skipgram
# -minn 0 -maxn 0 -bucket 0` (plain word vectors, as word2vec makes them; no
# bucket rows to allocate) with the same dim, window, negatives, epochs,
# min-count, subsampling threshold, learning rate and threads, at 1 and 2
# threads. Words/s counts corpus tokens x epochs over the elapsed time (the
# figure fastText prints) and, since the machine may be shared, over the CPU
# time too.
#
# Quality: (1) top-1 accuracy on an analogy set built from the corpus
# (family relations and plurals that the KJV uses often: man:woman ::
# king:queen, son:sons :: servant:servants); (2) agreement of the nearest
# words: mean overlap of the top-10 neighbours of 50 frequent words between
# embed and fastText, next to the same overlap between two fastText runs
# with different seeds (the noise floor of the comparison).
#
# Needs: bible (Debian bible-kjv + bible-kjv-text), fasttext, /usr/bin/python3
# with NumPy. Prints one line per figure; exits 0 when a peer is missing
# after saying so.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD="$top/$BUILD" ;; esac
PATH="$BUILD/bin:$PATH"
PY=/usr/bin/python3

for tool in bible fasttext embed; do
	command -v $tool >/dev/null || { echo "embed bench: skipped ($tool is missing)"; exit 0; }
done
$PY -c 'import numpy' 2>/dev/null || { echo "embed bench: skipped (no NumPy)"; exit 0; }

DIM=${DIM:-100} WINDOW=${WINDOW:-5} NEG=${NEG:-5} EPOCHS=${EPOCHS:-5}
MINCOUNT=${MINCOUNT:-5} SAMPLE=${SAMPLE:-1e-4} LR=${LR:-0.025}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

# One verse a line, verse references removed, lower-cased words: through
# tokenize when it is built, else a plain ASCII pass (the KJV is ASCII).
bible -f -l100000 gen1:1-rev22:21 | sed 's/^[^ ]* //' > kjv.raw
if command -v tokenize >/dev/null; then
	tokenize --text kjv.raw > kjv.txt
else
	tr 'A-Z' 'a-z' < kjv.raw | tr -cs "a-z'\n" ' ' > kjv.txt
fi
words=$(wc -w < kjv.txt)
echo "embed bench: KJV, $words words, $(wc -l < kjv.txt) lines; dim $DIM window $WINDOW" \
     "neg $NEG epochs $EPOCHS min-count $MINCOUNT sample $SAMPLE lr $LR"

# The two training commands: threads, seed, output.
embed_cmd() {
	echo "embed train -q --dim $DIM --window $WINDOW --neg $NEG --epochs $EPOCHS" \
	     "--min-count $MINCOUNT --sample $SAMPLE --lr $LR --threads $1 --seed $2 -o $3 kjv.txt"
}
fasttext_cmd() {
	echo "fasttext skipgram -input kjv.txt -output $3 -dim $DIM -ws $WINDOW -neg $NEG" \
	     "-epoch $EPOCHS -minCount $MINCOUNT -t $SAMPLE -lr $LR -thread $1 -seed $2" \
	     "-minn 0 -maxn 0 -bucket 0 -verbose 0"
}

# Runs a command line; seconds elapsed and CPU seconds into $wall and $cpu.
timed() {
	/usr/bin/time -f '%e %U %S' -o time.txt sh -c "$1" >/dev/null
	wall=$(awk '{print $1}' time.txt)
	cpu=$(awk '{print $2 + $3}' time.txt)
}

for threads in 1 2; do
	timed "$(embed_cmd $threads 1 e$threads.tnz)"
	ew=$wall ec=$cpu
	timed "$(fasttext_cmd $threads 1 f$threads)"
	fw=$wall fc=$cpu
	awk -v n="$words" -v e="$EPOCHS" -v t=$threads -v ew=$ew -v ec=$ec -v fw=$fw -v fc=$fc 'BEGIN {
		w = n * e
		printf "embed bench: skip-gram %d thread(s): embed %.0f words/s/thread (%.2f s), " \
		       "fastText %.0f (%.2f s): %.2fx; per CPU second: embed %.0f, fastText %.0f: %.2fx\n",
		       t, w / ew / t, ew, w / fw / t, fw, fw / ew, w / ec, w / fc, fc / ec }'
done

# Quality: vectors as word2vec text for both.
embed export --format text -o e.vec e1.tnz
sh -c "$(embed_cmd 1 2 e_seed2.tnz)"
embed export --format text -o e_seed2.vec e_seed2.tnz
sh -c "$(fasttext_cmd 1 2 f_seed2)" >/dev/null
$PY - e.vec e_seed2.vec f1.vec f_seed2.vec <<'EOF'
import sys
import numpy as np

def load(path):
    with open(path, encoding="utf-8") as f:
        f.readline()
        words, rows = [], []
        for line in f:
            p = line.rstrip().split(" ")
            words.append(p[0])
            rows.append(np.array(p[1:], dtype=np.float32))
    m = np.vstack(rows)
    m /= np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
    return words, {w: i for i, w in enumerate(words)}, m

models = {name: load(path) for name, path in
          zip(["embed", "embed seed 2", "fastText", "fastText seed 2"], sys.argv[1:])}

family = [("man", "woman"), ("men", "women"), ("father", "mother"), ("son", "daughter"),
          ("sons", "daughters"), ("brother", "sister"), ("brethren", "sisters"),
          ("king", "queen"), ("husband", "wife"), ("he", "she"), ("him", "her"),
          ("his", "her"), ("himself", "herself"), ("lord", "lady"), ("manservant", "maidservant"),
          ("fathers", "mothers"), ("uncle", "aunt"), ("nephew", "niece")]
plural = [("son", "sons"), ("daughter", "daughters"), ("king", "kings"), ("priest", "priests"),
          ("servant", "servants"), ("prophet", "prophets"), ("city", "cities"), ("house", "houses"),
          ("horse", "horses"), ("tree", "trees"), ("day", "days"), ("year", "years"),
          ("hand", "hands"), ("eye", "eyes"), ("enemy", "enemies"), ("angel", "angels"),
          ("stone", "stones"), ("gate", "gates"), ("field", "fields"), ("nation", "nations"),
          ("word", "words"), ("prince", "princes"), ("altar", "altars"), ("camel", "camels"),
          ("wall", "walls"), ("tribe", "tribes"), ("star", "stars"), ("river", "rivers")]

def questions(pairs, ix):
    pairs = [p for p in pairs if p[0] in ix and p[1] in ix]
    return [(a, b, c, d) for (a, b) in pairs for (c, d) in pairs if a != c and b != d]

def accuracy(model, qs):
    words, ix, m = model
    good = 0
    for a, b, c, d in qs:
        q = m[ix[b]] - m[ix[a]] + m[ix[c]]
        s = m @ q
        s[[ix[a], ix[b], ix[c]]] = -np.inf
        good += words[int(np.argmax(s))] == d
    return good / max(len(qs), 1)

common = set.intersection(*(set(m[1]) for m in models.values()))
for name, pairs in (("family", family), ("plural", plural)):
    qs = [q for q in questions(pairs, common)]
    line = ", ".join(f"{n} {accuracy(m, qs):.3f}" for n, m in models.items())
    print(f"embed bench: analogy {name} ({len(qs)} questions, top-1): {line}")

# 50 frequent words, skipping the 50 most frequent (function words).
order = [w for w in models["fastText"][0] if w in common and w != "</s>"]
probe = order[50:100]

def top10(model, w):
    words, ix, m = model
    s = m @ m[ix[w]]
    s[ix[w]] = -np.inf
    return {words[i] for i in np.argsort(-s)[:10]}

def overlap(x, y):
    return np.mean([len(top10(models[x], w) & top10(models[y], w)) / 10 for w in probe])

print("embed bench: top-10 neighbour overlap over 50 frequent words: "
      f"embed vs fastText {overlap('embed', 'fastText'):.3f}; "
      f"fastText vs fastText (seed 2) {overlap('fastText', 'fastText seed 2'):.3f}; "
      f"embed vs embed (seed 2) {overlap('embed', 'embed seed 2'):.3f}")
for w in ("god", "king", "water", "david", "gold"):
    if w in common:
        print(f"embed bench: nearest {w}: embed {' '.join(sorted(top10(models['embed'], w)))}")
EOF
