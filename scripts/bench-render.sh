#!/usr/bin/env bash
# Benchmark of --render: pages/s and peak memory (summed PSS of trawl and
# its whole Chromium process tree) rendering a local JavaScript
# application site, and the cost of --render auto on a mostly static site.
#
#   scripts/bench-render.sh [--pages N] [--tabs "2 4 8"] [--reps N]
#
# Steps: build trawl, scripts/jssite and scripts/psspeak; serve a site of N
# (default 500) JavaScript shells, each filled by a script from a small
# JSON API (scripts/jssite); then, for each --render-tabs value and for
# the default wait (idle) and --render-wait load, fetch the N page URLs
# with --render always under scripts/psspeak: wall time, rendered pages/s,
# peak summed PSS (/proc/PID/smaps_rollup of trawl and every descendant),
# a check that every page was rendered with its title from the API, and
# a check that no process of the run's profile dir (trawl-chrome-<pid>-)
# is left after it. Then a second site where 10% of the pages are shells
# is fetched with --render never, --render auto and --render never again
# (A B A, so that a change of the machine's load shows), to give the cost
# of auto. Results go to stdout and to scripts/results/bench-render-DATE.txt.
#
# The machine may be shared: figures are under whatever load it has; the
# A B A order and the ratios are the fairer comparison.
set -euo pipefail
cd "$(dirname "$0")/.."

pages=500 tabs_list="2 4 8" reps=1
while (($#)); do
	case "$1" in
	--pages) pages="$2"; shift ;;
	--tabs) tabs_list="$2"; shift ;;
	--reps) reps="$2"; shift ;;
	*) echo "usage: $0 [--pages N] [--tabs \"2 4 8\"] [--reps N]" >&2; exit 2 ;;
	esac
	shift
done
command -v chromium >/dev/null || { echo "bench-render: chromium is missing: apt-get install chromium" >&2; exit 2; }

work="$(mktemp -d)"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
log() { echo "bench-render: $*" >&2; }

go build -o "$work/trawl" .
go build -o "$work/jssite" ./scripts/jssite
go build -o "$work/psspeak" ./scripts/psspeak

# serve NAME SHELL_PERCENT: start a site, its base URL in $work/NAME.base.
serve() {
	"$work/jssite" -pages "$pages" -shell-percent "$2" >"$work/$1.base" &
	pids+=($!)
	for _ in $(seq 100); do [[ -s "$work/$1.base" ]] && break; sleep 0.1; done
	for ((i = 0; i < pages; i++)); do echo "$(head -1 "$work/$1.base")/p/$i"; done >"$work/$1.urls"
}
serve app 100
serve mixed 10

leftovers() { # leftovers PID: processes of the run's profile dir still alive
	local n=0 p
	for p in /proc/[0-9]*; do
		if { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q "trawl-chrome-$1-"; then
			grep -q ') Z ' "$p/stat" 2>/dev/null || n=$((n + 1))
		fi
	done
	echo "$n"
}

# run LABEL ARGS...: one timed run over the URLs of $site; prints a row.
run() {
	local label="$1"; shift
	local best_wall="" best_line=""
	for ((r = 0; r < reps; r++)); do
		local start end wall
		start=$(date +%s.%N)
		"$work/psspeak" -- "$work/trawl" fetch -q -c 16 --per-host 16 -o "$work/out.jsonl" "$@" "$work/$site.urls" \
			2>"$work/err.txt" &
		local sp=$!
		# psspeak's child is trawl: its pid names the profile dir.
		local tp=""
		for _ in $(seq 100); do tp=$(pgrep -P "$sp" -x trawl || true); [[ -n "$tp" ]] && break; sleep 0.05; done
		wait "$sp" || { log "$label: trawl failed:"; cat "$work/err.txt" >&2; exit 1; }
		end=$(date +%s.%N)
		wall=$(echo "$end - $start" | bc -l)
		local pss cpu n ok left
		pss=$(awk '/^peak_pss_mib/ {print $2}' "$work/err.txt")
		cpu=$(awk '/^cpu_s/ {print $2}' "$work/err.txt")
		n=$(wc -l <"$work/out.jsonl")
		ok=$(grep -c '"title":"App page' "$work/out.jsonl" || true)
		left=0
		[[ -n "$tp" ]] && left=$(leftovers "$tp")
		local line
		line=$(printf "%-34s %6d %6d %8.1f %8.1f %10s %8s %8.0f %6s" "$label" "$n" "$ok" "$wall" "$(echo "$n / $wall" | bc -l)" "$pss" "$cpu" "$(echo "1000 * $cpu / $n" | bc -l)" "$left")
		if [[ -z "$best_wall" ]] || (($(echo "$wall < $best_wall" | bc -l))); then best_wall=$wall best_line=$line; fi
	done
	echo "$best_line"
}

out="scripts/results/bench-render-$(date -u +%Y-%m-%d).txt"
{
	echo "# trawl --render benchmark, $(date -u +%FT%TZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# $(chromium --version 2>/dev/null | head -1); $pages pages"
	printf "%-34s %6s %6s %8s %8s %10s %8s %8s %6s\n" run records titled wall_s pages/s peak_pss_MiB cpu_s cpu_ms/pg left
	site=app
	for tabs in $tabs_list; do
		run "always tabs=$tabs wait=idle" --render always --render-tabs "$tabs"
		run "always tabs=$tabs wait=load" --render always --render-tabs "$tabs" --render-wait load
	done
	site=mixed
	run "mixed 10% shells: never (A)" --render never
	run "mixed 10% shells: auto  (B)" --render auto
	run "mixed 10% shells: never (A)" --render never
	echo "# titled: records with the title from the API (rendered shells whose API call ended before the wait did, and static pages)"
	echo "# cpu_s: user+system CPU of trawl and its whole Chromium tree; cpu_ms/pg per record. On a loaded"
	echo "# machine wall time says more about the load than about trawl: 2 cores / cpu per page bounds"
	echo "# the rate a free 2-core machine could reach (and tabs / wait bounds it too)."
	echo "# left: processes of the run's Chromium profile still alive after trawl exited (must be 0)"
} | tee "$out"
log "written to $out"
