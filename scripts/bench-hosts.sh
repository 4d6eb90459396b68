#!/usr/bin/env bash
# Politeness without head-of-line blocking: time trawl over many hosts and
# compare with the ideal schedule.
#
#   scripts/bench-hosts.sh [--hosts N] [--pages N] [--bin TRAWL] [--only rate|latency]
#
# Serves N hosts (default 50: 127.0.0.2 up, loopback, one port) with
# scripts/hostsite and fetches N pages from each (default 20), in two
# cases, each with the list grouped by host and shuffled:
#   rate:    --rate 2 (per host), server answers at once;
#            ideal: the pages of one host at 2/s, hosts side by side,
#            (pages-1)/2 s.
#   latency: default -c 16 --per-host 2, server answers in 100ms;
#            ideal: hosts*pages*0.1s/16.
# Prints wall time, the ideal, the ratio and the target (grouped <= 1.2x,
# shuffled <= 1.1x), and checks that every page has one record with
# status 200. --bin times another trawl binary (e.g. an older build)
# instead of building this tree's.
set -euo pipefail
cd "$(dirname "$0")/.."

hosts=50 pages=20 bin="" only=""
while (($#)); do
	case "$1" in
	--hosts) hosts="$2"; shift ;;
	--pages) pages="$2"; shift ;;
	--bin) bin="$2"; shift ;;
	--only) only="$2"; shift ;;
	*) echo "usage: $0 [--hosts N] [--pages N] [--bin TRAWL] [--only rate|latency]" >&2; exit 2 ;;
	esac
	shift
done

work=$(mktemp -d)
server_pid=""
cleanup() {
	if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

if [[ -z "$bin" ]]; then
	go build -o "$work/trawl" .
	bin="$work/trawl"
fi
go build -o "$work/hostsite" ./scripts/hostsite

# serve DELAY: (re)start hostsite with that delay; sets $port.
serve() {
	if [[ -n "$server_pid" ]]; then kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; fi
	"$work/hostsite" --hosts "$hosts" --delay "$1" --for 30m >"$work/port" &
	server_pid=$!
	for _ in $(seq 100); do
		[[ -s "$work/port" ]] && break
		sleep 0.1
	done
	port=$(cat "$work/port")
	for ((h = 2; h < 2 + hosts; h++)); do
		for ((p = 1; p <= pages; p++)); do
			echo "http://127.0.0.$h:$port/p/$p"
		done
	done >"$work/grouped.txt"
	shuf --random-source=<(yes) "$work/grouped.txt" >"$work/shuffled.txt"
}

# run NAME LIST IDEAL TARGET ARGS...: time one run and print its line.
run() {
	local name=$1 list=$2 ideal=$3 target=$4
	shift 4
	local start end secs ok
	start=$(date +%s.%N)
	timeout 600 "$bin" fetch -q "$@" "$work/$list.txt" >"$work/out.jsonl" || true
	end=$(date +%s.%N)
	secs=$(echo "$end - $start" | bc -l)
	ok=$(grep -c '"status":200' "$work/out.jsonl" || true)
	printf "%-9s %-9s %8.2f %8.2f %7.2fx %7s %6s/%d\n" "$name" "$list" "$secs" "$ideal" \
		"$(echo "$secs / $ideal" | bc -l)" "<=${target}x" "$ok" $((hosts * pages))
}

printf "%-9s %-9s %8s %8s %8s %7s %8s\n" case list "time s" "ideal s" ratio target "200s"
if [[ -z "$only" || "$only" == rate ]]; then
	serve 0s
	ideal=$(echo "($pages - 1) / 2" | bc -l)
	run rate grouped "$ideal" 1.2 --rate 2
	run rate shuffled "$ideal" 1.1 --rate 2
fi
if [[ -z "$only" || "$only" == latency ]]; then
	serve 100ms
	ideal=$(echo "$hosts * $pages * 0.1 / 16" | bc -l)
	run latency grouped "$ideal" 1.2
	run latency shuffled "$ideal" 1.1
fi
