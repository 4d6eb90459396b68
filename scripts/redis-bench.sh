#!/usr/bin/env bash
# Throughput of one trawl process against three sharing a run on a Redis
# frontier. The site (scripts/latencysite) answers every request after a
# fixed delay, so one connection carries at most 1/delay requests a
# second and each process, at --per-host 2, at most 2/delay: a shared run
# should scale with the number of processes (target: 3 processes at least
# 2.5 times one).
#
#   scripts/redis-bench.sh [urls] [delay]     (defaults: 1500 10ms)
#
# Needs redis-server (apt-get install -y redis-server). Everything runs on
# 127.0.0.1 and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1500}"
delay="${2:-10ms}"
work="$(mktemp -d)"
cleanup() {
	kill "${site_pid:-}" "${redis_pid:-}" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

command -v redis-server >/dev/null || { echo "redis-server is not installed: apt-get install -y redis-server" >&2; exit 2; }
go build -o "$work/trawl" .
go build -o "$work/site" ./scripts/latencysite

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
redis-server --port "$port" --bind 127.0.0.1 --dir "$work" --save "" --appendonly no >"$work/redis.log" 2>&1 &
redis_pid=$!
"$work/site" --delay "$delay" --for 10m >"$work/base" 2>"$work/site.log" &
site_pid=$!
for _ in $(seq 100); do
	grep -q "Ready to accept" "$work/redis.log" && [[ -s "$work/base" ]] && break
	sleep 0.1
done
base="$(head -1 "$work/base")"
redis="redis://127.0.0.1:$port/0"
for i in $(seq 0 $((n - 1))); do echo "$base/page/$i"; done >"$work/urls.txt"

# run K: K processes share one run; prints the wall time in seconds.
run() {
	local k="$1" name="bench-$1-$RANDOM" pids=() start end
	start="$(date +%s.%N)"
	for p in $(seq 1 "$k"); do
		"$work/trawl" fetch --frontier "$redis" --run "$name" -c 16 --quiet -o "$work/out-$k-$p.jsonl" "$work/urls.txt" &
		pids+=($!)
	done
	for pid in "${pids[@]}"; do wait "$pid"; done
	end="$(date +%s.%N)"
	local got
	got="$(cat "$work"/out-"$k"-*.jsonl | wc -l)"
	[[ "$got" -eq "$n" ]] || { echo "run with $k processes wrote $got records, want $n" >&2; exit 1; }
	echo "$end - $start" | bc -l
}

t1="$(run 1)"
t3="$(run 3)"
printf 'urls %d, delay %s per request, --per-host 2\n' "$n" "$delay"
printf '1 process:   %6.2f s  %7.1f pages/s\n' "$t1" "$(echo "$n / $t1" | bc -l)"
printf '3 processes: %6.2f s  %7.1f pages/s\n' "$t3" "$(echo "$n / $t3" | bc -l)"
printf 'speed-up:    %6.2fx (target >= 2.5x)\n' "$(echo "$t1 / $t3" | bc -l)"
