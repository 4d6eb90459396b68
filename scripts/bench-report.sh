#!/usr/bin/env bash
# Time, peak memory and output size of `trawl report` over a synthetic
# crawl output of N records (default 1,000,000; scripts/reportgen), in
# each format. The budget for 1,000,000 records: 30 s, 300 MiB peak RSS,
# an HTML report of at most 10 MiB.
#
#   scripts/bench-report.sh [records]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

go build -o "$work/trawl" .
go run ./scripts/reportgen -n "$n" >"$work/big.jsonl"
printf "input: %d records, %s MiB\n" "$n" "$(( $(stat -c %s "$work/big.jsonl") >> 20 ))"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (wall time suffers under load; cpu_s less so)"
printf "%-6s %8s %8s %14s %12s\n" format wall_s cpu_s peak_rss_MiB out_KiB
for format in html json; do
	/usr/bin/time -v "$work/trawl" report --format "$format" -o "$work/out.$format" "$work/big.jsonl" 2>"$work/time.txt" || true
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$work/time.txt")
	rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$work/time.txt")
	cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.2f", u+s}' "$work/time.txt")
	printf "%-6s %8s %8s %14s %12s\n" "$format" "$wall" "$cpu" "$rss" "$(( $(stat -c %s "$work/out.$format") >> 10 ))"
done
