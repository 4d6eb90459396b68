#!/usr/bin/env bash
# Memory of trawl over many hosts (issue 13, item 6): peak RSS
# (/usr/bin/time -v), wall time and records written.
#
#   scripts/bench-manyhosts.sh [--bin TRAWL] [--only unreachable|grouped|bighost|crawl] [--max N] [-- TRAWL-FLAGS...]
#
# unreachable: 100,000 and 1,000,000 single-URL hosts http://127.x.y.z:PORT/
#   (from 127.1.0.0 up, loopback only) on a port where nothing listens, so
#   every connection is refused at once: no DNS, no traffic off the
#   machine. --retries 0, since a refused connection is otherwise retried
#   with backoff. Target: peak RSS <= 150 MiB at 1M, every URL recorded
#   once. --max N stops at N hosts (default 1000000).
# grouped: 200 hosts x 1,000 pages served by scripts/hostsite (127.0.0.2
#   up), the list grouped by host and shuffled. Targets: peak RSS <= 100
#   MiB, grouped throughput within 10% of shuffled. Both pass
#   --queue-memory (8MiB) and spill to disk.
# bighost: one host (127.0.0.2) with 1,000,000 URLs, then 200 other hosts
#   with 100 URLs each, -c 32 --per-host 16. The queue spills A's tail;
#   memory must stay flat and the other hosts start at once: printed is
#   where in the output (records in the order they were written) the
#   other hosts' first and last records are.
# crawl: a crawl of scripts/serve's generated site of 300,000 pages
#   (every page links to 5 others), -c 32 --per-host 32: its queue grows
#   to hundreds of thousands of URLs and spills past --queue-memory.
#   Memory must stay flat.
# Every run is bounded by timeout(1). --bin measures another trawl binary
# (e.g. an older build) instead of building this tree's; flags after --
# are given to every trawl run (e.g. -- --queue-memory 8MiB).
set -euo pipefail
cd "$(dirname "$0")/.."

bin="" only="" max=1000000 extra=()
while (($#)); do
	case "$1" in
	--) shift; extra=("$@"); break ;;
	--bin) bin="$2"; shift ;;
	--only) only="$2"; shift ;;
	--max) max="$2"; shift ;;
	*) echo "usage: $0 [--bin TRAWL] [--only unreachable|grouped|bighost|crawl] [--max N]" >&2; exit 2 ;;
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

# measure NAME N LIST ARGS...: run trawl over LIST under /usr/bin/time and
# print one line: wall time, URLs/s, peak RSS, records, distinct URLs.
measure() {
	local name=$1 n=$2 list=$3 cmd=fetch
	shift 3
	if [[ "$name" == crawl* ]]; then cmd=crawl; fi
	timeout 900 /usr/bin/time -v "$bin" "$cmd" -q "${extra[@]}" "$@" -o "$work/out.jsonl" "$list" 2>"$work/time.txt" || true
	local wall rss recs uniq
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$work/time.txt")
	rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$work/time.txt")
	recs=$(wc -l <"$work/out.jsonl")
	uniq=$(grep -o '"url":"[^"]*"' "$work/out.jsonl" | sort -u | wc -l)
	printf "%-22s %9d %8.2f %9.0f %10s %9d %9d\n" "$name" "$n" "$wall" \
		"$(echo "$n / $wall" | bc -l)" "$rss" "$recs" "$uniq"
}

printf "%-22s %9s %8s %9s %10s %9s %9s\n" case urls wall_s urls/s peak_MiB records distinct

if [[ -z "$only" || "$only" == unreachable ]]; then
	# A port nothing listens on, on any address (a listener on 0.0.0.0
	# would answer on every 127.x.y.z).
	port=""
	for p in 9 7 19 37 47 59; do
		if [[ -z "$(ss -ltnH "sport = :$p" 2>/dev/null)" ]]; then port=$p; break; fi
	done
	[[ -n "$port" ]] || { echo "no free port found" >&2; exit 1; }
	for n in 100000 1000000; do
		((n <= max)) || continue
		awk -v n="$n" -v port="$port" 'BEGIN {
			for (i = 0; i < n; i++) {
				j = i + 65536
				printf "http://127.%d.%d.%d:%d/\n", int(j / 65536) % 256, int(j / 256) % 256, j % 256, port
			}
		}' >"$work/hosts.txt"
		measure "unreachable" "$n" "$work/hosts.txt" --retries 0
		connect=$(grep -c '"kind":"connect"' "$work/out.jsonl" || true)
		echo "  connect errors: $connect/$n"
	done
fi

if [[ -z "$only" || "$only" == grouped || "$only" == bighost ]]; then
	hosts=200 pages=1000
	go build -o "$work/hostsite" ./scripts/hostsite
	"$work/hostsite" --hosts $((hosts + 1)) --for 30m >"$work/port" &
	server_pid=$!
	for _ in $(seq 100); do
		[[ -s "$work/port" ]] && break
		sleep 0.1
	done
	port=$(cat "$work/port")
fi

if [[ -z "$only" || "$only" == grouped ]]; then
	for ((h = 2; h < 2 + hosts; h++)); do
		for ((p = 1; p <= pages; p++)); do
			echo "http://127.0.0.$h:$port/p/$p"
		done
	done >"$work/grouped.txt"
	shuf --random-source=<(yes) "$work/grouped.txt" >"$work/shuffled.txt"
	measure "grouped 200x1000" $((hosts * pages)) "$work/grouped.txt"
	echo "  200s: $(grep -c '"status":200' "$work/out.jsonl" || true)"
	measure "shuffled 200x1000" $((hosts * pages)) "$work/shuffled.txt"
	echo "  200s: $(grep -c '"status":200' "$work/out.jsonl" || true)"
fi

if [[ -z "$only" || "$only" == bighost ]]; then
	{
		awk -v port="$port" 'BEGIN { for (p = 1; p <= 1000000; p++) printf "http://127.0.0.2:%d/p/%d\n", port, p }'
		for ((h = 3; h < 3 + hosts; h++)); do
			for ((p = 1; p <= 100; p++)); do
				echo "http://127.0.0.$h:$port/p/$p"
			done
		done
	} >"$work/bighost.txt"
	measure "1M on one host + 200" $((1000000 + hosts * 100)) "$work/bighost.txt" -c 32 --per-host 16
	awk '!/"url":"http:\/\/127\.0\.0\.2:/ { if (!first) first = NR; last = NR } END {
		printf "  other hosts: first record #%d, last #%d of %d (%.1f%%)\n", first, last, NR, 100 * last / NR }' "$work/out.jsonl"
fi

if [[ -z "$only" || "$only" == crawl ]]; then
	pages=300000
	go build -o "$work/serve" ./scripts/serve
	"$work/serve" --pages "$pages" --for 30m >"$work/base" &
	crawl_pid=$!
	for _ in $(seq 100); do
		[[ -s "$work/base" ]] && break
		sleep 0.1
	done
	measure "crawl 300k pages" "$pages" "$(head -1 "$work/base")/" -c 32 --per-host 32 --no-robots
	echo "  200s: $(grep -c '"status":200' "$work/out.jsonl" || true)"
	kill "$crawl_pid" 2>/dev/null || true
	wait "$crawl_pid" 2>/dev/null || true
fi
