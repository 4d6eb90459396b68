#!/usr/bin/env bash
# Soak trawl's resume under faults: repeated `trawl crawl --resume` runs
# of a site served by scripts/faultsite (connection resets, slow bodies,
# 5xx bursts), each one interrupted at a random moment by SIGINT or
# SIGKILL, or left to end by itself or by --max-time.
#
#   scripts/soak.sh [cycles] [seed]      # cycles: runs in all (default 20)
#
# A round is one output file crawled to the end through as many runs as it
# takes; when a run ends by itself with every page in the file, the round
# is checked and a new one starts. After the last cycle the round in
# progress is finished by runs that are not interrupted. Every round must
# hold each URL of the site exactly once, as whole JSON lines, and no run
# may outlive its bound (--max-time + --grace, enforced by an outer
# `timeout`). Exit status 1 and the details on stderr when either fails.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
cycles="${1:-20}"
seed="${2:-$RANDOM}"
pages=600
fault=0.08
rng=$seed
# rnd N: sets R to a number in [0, N), from a 64-bit LCG seeded by $seed
# (bash's own $RANDOM repeats itself badly when taken modulo small N).
rnd() {
	rng=$((rng * 6364136223846793005 + 1442695040888963407))
	R=$((((rng >> 33) & 0x7fffffff) % $1))
}
work="$(mktemp -d)"
server_pid=""
cleanup() {
	[[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true
	[[ -n "$server_pid" ]] && wait "$server_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
log() { echo "soak: $*" >&2; }

go build -o "$work/trawl" .
go build -o "$work/faultsite" ./scripts/faultsite
"$work/faultsite" --pages "$pages" --seed "$seed" --fault "$fault" --for 2h >"$work/base" 2>"$work/faultsite.log" &
server_pid=$!
for _ in $(seq 100); do [[ -s "$work/base" ]] && break; sleep 0.1; done
base="$(head -1 "$work/base")"
[[ -n "$base" ]] || { log "fault site did not start"; exit 1; }
log "seed $seed, $pages pages at $base, $cycles cycles, load $(cut -d' ' -f1-3 /proc/loadavg)"

{
	echo "$base/"
	for ((i = 1; i < pages; i++)); do echo "$base/page/$i.html"; done
} | sort >"$work/want.txt"

failures=0 hung=0 round=1 rounds_ok=0 runs=0
out="$work/round1.jsonl"

# urls_in FILE: the url field of every line, sorted, duplicates kept.
urls_in() { grep -o '"url":"[^"]*"' "$1" | sed 's/^"url":"//; s/"$//' | sort; }

# check_round FILE: every URL exactly once, every line whole.
check_round() {
	local f=$1 bad=0
	urls_in "$f" >"$work/got.txt"
	local missing dup torn
	missing=$(comm -23 "$work/want.txt" <(sort -u "$work/got.txt"))
	dup=$(uniq -d "$work/got.txt")
	torn=$(grep -vn '^{.*}$' "$f" || true)
	extra=$(comm -13 "$work/want.txt" <(sort -u "$work/got.txt"))
	if [[ -n "$missing" ]]; then bad=1; log "round $round: MISSING $(wc -l <<<"$missing") URLs:"; head -20 <<<"$missing" >&2; fi
	if [[ -n "$dup" ]]; then bad=1; log "round $round: DUPLICATED $(wc -l <<<"$dup") URLs:"; head -20 <<<"$dup" >&2; fi
	if [[ -n "$torn" ]]; then bad=1; log "round $round: TORN lines:"; head -5 <<<"$torn" | cut -c1-200 >&2; fi
	if [[ -n "$extra" ]]; then log "round $round: URLs outside the site (not an error):"; head -5 <<<"$extra" >&2; fi
	local errors
	errors=$(grep -vc '"status":200' "$f" || true)
	if ((bad)); then
		failures=$((failures + 1))
		cp "$f" "/tmp/soak-failed-round$round-$seed.jsonl"
		log "round $round FAILED ($runs runs so far); output kept in /tmp/soak-failed-round$round-$seed.jsonl"
	else
		rounds_ok=$((rounds_ok + 1))
		log "round $round ok: $(wc -l <"$f") lines, each URL once, $errors not status 200"
	fi
}

# complete FILE: whether FILE has every URL of the site.
complete() { [[ -s "$1" ]] && [[ $(urls_in "$1" | sort -u | comm -12 - "$work/want.txt" | wc -l) == "$pages" ]]; }

# one_run ACTION [MAXTIME]: one bounded run on the current round; ACTION is
# int, kill or none; MAXTIME is --max-time in seconds (default 2-8). Sets $ended_alone when the run exited by itself.
one_run() {
	local action=$1 sent_kill maxtime delay rc=0 pid
	rnd 7
	maxtime=${2:-$((2 + R))}
	local bound=$((maxtime + 3 + 15))
	runs=$((runs + 1))
	timeout -k 5 "$bound" "$work/trawl" crawl --resume -q -o "$out" -c 8 --per-host 8 \
		--timeout 5s --max-time "${maxtime}s" --grace 3s "$base/" 2>>"$work/trawl.log" &
	pid=$!
	ended_alone=1 sent_kill=0
	if [[ "$action" != none ]]; then
		rnd 3000
		delay=$(awk -v r="$R" 'BEGIN {printf "%.2f", 0.2 + r / 1000}')
		# wait up to delay for the run to end by itself, then signal it
		for _ in $(seq "$(awk -v d="$delay" 'BEGIN {print int(d * 20)}')"); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		if kill -0 "$pid" 2>/dev/null; then
			ended_alone=0
			# signal trawl itself, the child of timeout
			local child
			child=$(pgrep -P "$pid" -x trawl || true)
			if [[ -n "$child" && "$action" == int ]]; then
				kill -INT "$child" 2>/dev/null || true
			elif [[ -n "$child" ]]; then
				kill -KILL "$child" 2>/dev/null || true
				sent_kill=1
			fi
		fi
	fi
	wait "$pid" || rc=$?
	if ((rc == 124 || (rc == 137 && !sent_kill))); then
		hung=$((hung + 1))
		log "run $runs (round $round, $action after ${delay:-0}s, max-time ${maxtime}s) HUNG: killed by timeout after ${bound}s (rc $rc)"
		tail -5 "$work/trawl.log" >&2
	fi
	log "run $runs: round $round, ${action}${delay:+ after ${delay}s}, max-time ${maxtime}s, rc $rc, $(wc -l <"$out" 2>/dev/null || echo 0) lines"
}

for ((cycle = 1; cycle <= cycles; cycle++)); do
	rnd 10
	if ((R < 4)); then action=int; elif ((R < 8)); then action=kill; else action=none; fi
	one_run "$action"
	if ((ended_alone)) && complete "$out"; then
		check_round "$out"
		round=$((round + 1))
		out="$work/round$round.jsonl"
	fi
done
# Finish the round in progress without interruptions (bounded).
if [[ -s "$out" ]]; then
	for _ in $(seq 10); do
		complete "$out" && break
		one_run none 60
	done
	if complete "$out"; then check_round "$out"; else
		failures=$((failures + 1))
		log "round $round did not complete in 10 uninterrupted runs of 60s"
		check_round "$out"
	fi
fi
kill "$server_pid" 2>/dev/null || true
wait "$server_pid" 2>/dev/null || true
server_pid=""
log "$(cat "$work/faultsite.log")"
log "done: $runs runs, $rounds_ok rounds ok, $failures rounds failed, $hung runs hung; load $(cut -d' ' -f1-3 /proc/loadavg)"
((failures == 0 && hung == 0))
