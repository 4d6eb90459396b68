#!/usr/bin/env bash
# Peak memory of `trawl fetch` over list inputs of 20k and 200k URLs (the
# same 20k pages with ?v=N queries), against the generated site on
# loopback. Memory must stay flat as the input grows: the input is
# streamed, and only 16-byte fingerprints of seen URLs are kept.
#
#   scripts/rss.sh [concurrency]
set -euo pipefail
cd "$(dirname "$0")/.."
conc="${1:-64}"
work="$(mktemp -d)"
trap 'kill "${server_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/trawl" .
go build -o "$work/serve" ./scripts/serve
"$work/serve" --pages 20000 --for 20m >"$work/base" &
server_pid=$!
for _ in $(seq 100); do [[ -s "$work/base" ]] && break; sleep 0.1; done
base="$(head -1 "$work/base")"

gen() { # gen N: N URLs over the 20k pages
	awk -v n="$1" -v base="$base" 'BEGIN {
		for (i = 0; i < n; i++) {
			p = i % 20000; v = int(i / 20000)
			path = (p == 0) ? "/" : "/page/" p ".html"
			printf "%s%s%s\n", base, path, (v ? "?v=" v : "")
		}
	}'
}

printf "%-8s %10s %10s %12s %10s\n" urls wall_s pages/s peak_rss_MiB cpu_s
for n in 20000 200000; do
	gen "$n" >"$work/urls.txt"
	/usr/bin/time -v "$work/trawl" fetch -q --no-robots -c "$conc" --per-host "$conc" \
		-o "$work/out.jsonl" "$work/urls.txt" 2>"$work/time.txt" || true
	lines=$(wc -l <"$work/out.jsonl")
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$work/time.txt")
	rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$work/time.txt")
	cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.2f", u+s}' "$work/time.txt")
	pps=$(awk -v n="$lines" -v w="$wall" 'BEGIN {printf "%.0f", n/w}')
	printf "%-8s %10s %10s %12s %10s\n" "$lines" "$wall" "$pps" "$rss" "$cpu"
	[[ "$lines" == "$n" ]] || { echo "expected $n records, got $lines" >&2; exit 1; }
done
