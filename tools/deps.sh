#!/bin/sh
# Install the Debian packages cnnkit needs that are missing; do nothing when all are there.
#   tools/deps.sh          build, test and demo dependencies (make deps; Fashion-MNIST
#                          is one: the demo trains on it and the import tests read it;
#                          Open MPI another: make test builds and tests make MPI=1)
#   tools/deps.sh demo     also what the text half of make demo uses: npm (to fetch the
#                          sentiment sentences) and bible-kjv (a corpus for word vectors)
#   tools/deps.sh bench    also the peers the benchmarks compare against (make bench-deps)
set -eu

need="gcc make zlib1g-dev libpng-dev libjpeg62-turbo-dev libgomp1 bats python3-numpy python3-pil pngcheck libxml2-utils dataset-fashion-mnist"
# Open MPI: make MPI=1, and the tests of tests/bats/mpi.bats that make test runs.
need="$need libopenmpi-dev openmpi-bin"
case ${1:-} in
demo | bench)
	need="$need bible-kjv"
	# An npm from elsewhere (nodesource, nvm) will do as well as Debian's.
	command -v npm >/dev/null 2>&1 || need="$need npm"
	;;
esac
if [ "${1:-}" = bench ]; then
	need="$need python3-torch gzip bible-kjv bible-kjv-text fasttext python3-gensim time"
fi

missing=""
for p in $need; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1; then
	sudo="sudo"
else
	echo "deps: missing packages:$missing (not root and no sudo)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >&2
