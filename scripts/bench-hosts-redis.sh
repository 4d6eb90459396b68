#!/usr/bin/env bash
# Politeness without head-of-line blocking on a shared run: K trawl
# processes on one Redis frontier fetch a list grouped by host under
# --rate, and the wall time is compared with the ideal schedule.
#
#   scripts/bench-hosts-redis.sh [--procs K] [--hosts N] [--pages N] [--rate R] [--bin TRAWL]
#
# Serves N hosts (default 50: 127.0.0.2 up, loopback, one port) with
# scripts/hostsite and has K processes (default 3) share a run over the
# list of N pages per host (default 20), grouped by host, at --rate R per
# host (default 2; the rate is shared: R a second per host in all).
# Ideal: the pages of one host at R/s, hosts side by side: (pages-1)/R s.
# Prints wall time, ideal, ratio and target (<= 1.3x); checks that every
# page has one record with status 200 in the union of the outputs and
# prints the shortest gap between two requests to one host seen at the
# server (about 1/R s or more when the rate holds, less when one request
# of a pair arrived late on a loaded machine) and the most requests to one
# host within any 5 s (at most 5R+1 when the rate holds). --bin times
# another trawl binary (e.g. an older build) instead of this tree's.
# Needs redis-server (apt-get install -y redis-server).
set -euo pipefail
cd "$(dirname "$0")/.."

procs=3 hosts=50 pages=20 rate=2 bin=""
while (($#)); do
	case "$1" in
	--procs) procs="$2"; shift ;;
	--hosts) hosts="$2"; shift ;;
	--pages) pages="$2"; shift ;;
	--rate) rate="$2"; shift ;;
	--bin) bin="$2"; shift ;;
	*) echo "usage: $0 [--procs K] [--hosts N] [--pages N] [--rate R] [--bin TRAWL]" >&2; exit 2 ;;
	esac
	shift
done
command -v redis-server >/dev/null || { echo "redis-server is not installed: apt-get install -y redis-server" >&2; exit 2; }

work=$(mktemp -d)
site_pid="" redis_pid=""
cleanup() {
	for pid in $site_pid $redis_pid; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

if [[ -z "$bin" ]]; then
	go build -o "$work/trawl" .
	bin="$work/trawl"
fi
go build -o "$work/hostsite" ./scripts/hostsite

rport="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
redis-server --port "$rport" --bind 127.0.0.1 --dir "$work" --save "" --appendonly no >"$work/redis.log" 2>&1 &
redis_pid=$!
"$work/hostsite" --hosts "$hosts" --for 30m --log "$work/hits.log" >"$work/port" &
site_pid=$!
for _ in $(seq 100); do
	grep -q "Ready to accept" "$work/redis.log" && [[ -s "$work/port" ]] && break
	sleep 0.1
done
port=$(cat "$work/port")
for ((h = 2; h < 2 + hosts; h++)); do
	for ((p = 1; p <= pages; p++)); do
		echo "http://127.0.0.$h:$port/p/$p"
	done
done >"$work/grouped.txt"

ideal=$(echo "($pages - 1) / $rate" | bc -l)
start=$(date +%s.%N)
pids=()
for ((k = 1; k <= procs; k++)); do
	timeout 600 "$bin" fetch -q --frontier "redis://127.0.0.1:$rport/0" --run bench --rate "$rate" \
		-o "$work/out-$k.jsonl" "$work/grouped.txt" &
	pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || true; done
end=$(date +%s.%N)
kill "$site_pid"; wait "$site_pid" 2>/dev/null || true; site_pid=""

secs=$(echo "$end - $start" | bc -l)
ok=$(cat "$work"/out-*.jsonl | grep '"status":200' | grep -o '"url":"[^"]*"' | sort -u | wc -l)
records=$(cat "$work"/out-*.jsonl | wc -l)
# The shortest gap between two page requests to one host, at the server.
gap=$(sort -k2,2 -k1,1n "$work/hits.log" | awk '$2 == host { d = ($1 - last) / 1e9; if (min == "" || d < min) min = d } { host = $2; last = $1 } END { printf "%.3f", min }')
# The most page requests to one host within any 5 s, at the server: at
# most 5*R+1 when the rate holds (a late arrival shortens one gap above
# but not a long window).
win=$(sort -k2,2 -k1,1n "$work/hits.log" | awk '
	$2 != host { host = $2; n = 0 }
	{ t[n++] = $1; for (i = 0; i < n; i++) if ($1 - t[i] < 5e9) break; if (n - i > max) max = n - i }
	END { print max }')
printf "%-6s %8s %8s %8s %7s %10s %8s %10s %14s\n" procs "time s" "ideal s" ratio target "200s" records "min gap s" "max in 5 s"
printf "%-6d %8.2f %8.2f %7.2fx %7s %6s/%d %8d %10s %9s/%d\n" "$procs" "$secs" "$ideal" "$(echo "$secs / $ideal" | bc -l)" "<=1.3x" \
	"$ok" $((hosts * pages)) "$records" "$gap" "$win" "$(echo "5 * $rate + 1" | bc)"
