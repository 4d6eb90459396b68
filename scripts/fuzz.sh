#!/usr/bin/env bash
# Run every Go fuzz target of the repository, one after another, for the
# given number of seconds each (default 60), and list the ones that failed.
# A failing input is kept by `go test` under <pkg>/testdata/fuzz/<Name>/.
#
#   scripts/fuzz.sh [seconds] [name-regexp]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
only="${2:-.}"
log="$(mktemp -d)"
trap 'rm -rf "$log"' EXIT

failed=()
# Each line: <package dir> <FuzzName>, from the *_test.go files of the
# main module (nested modules under scripts/ are not part of it).
targets=$(grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . |
	grep -v '^./scripts/' | sed -E 's#^(.*)/[^/]*:func (Fuzz.*)$#\1 \2#' | sort -u | grep -E " .*($only)" || true)
[[ -n "$targets" ]] || { echo "fuzz: no targets match $only" >&2; exit 2; }
while read -r dir name; do
	echo "fuzz: $name in $dir for ${secs}s (load $(cut -d' ' -f1 /proc/loadavg))"
	if timeout -k 10 $((secs + 120)) go test -run XXX -fuzz "^${name}\$" -fuzztime "${secs}s" "$dir" >"$log/$name.txt" 2>&1; then
		{ grep '^fuzz: elapsed' "$log/$name.txt" | tail -n 1; tail -n 1 "$log/$name.txt"; } | sed 's/^/    /'
	else
		failed+=("$name ($dir)")
		sed 's/^/    /' "$log/$name.txt" | tail -n 40
	fi
done <<<"$targets"
if ((${#failed[@]})); then
	printf 'fuzz: FAILED: %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "fuzz: all targets passed"
