#!/usr/bin/env bash
# Benchmark trawl against colly v2 and a hand-written net/http + goquery
# worker pool, in one run, on a generated static site served on loopback.
#
#   scripts/bench.sh [--quick] [--pages N] [--conc "16 64"] [--no-big] [--go-server] [--reps N] [--warc]
#
# Steps: build trawl, scripts/colly (own module) and scripts/rawpool (own
# module); write a deterministic site of N pages (default 20,000; 10–30 KB,
# 20–40 internal links and 3 external ones a page) with scripts/benchsite;
# serve it on 127.0.0.1 with nginx (installed with apt-get when missing and
# possible; run in the foreground with a temporary config on a free port)
# or else with scripts/fileserve; then, at each concurrency, time
#   fetch: list mode over the N page URLs,
#   crawl: from the index page, following links on the host,
# for each tool, with /usr/bin/time -v: wall time, pages/s, CPU seconds
# (user+sys, client only) per 1,000 pages, peak RSS, and a check that every
# page was fetched with status 200, each once. Then list mode over 10×N
# URLs (the same pages with ?v=N queries) for trawl and colly, to show
# whether memory grows with the input. The table and the trawl/colly and
# trawl/raw ratios go to stdout and to scripts/results/bench-DATE.txt.
#
# --quick: 2,000 pages, concurrency 16 only, no 10×N run (about a minute).
# --reps N: run each job N times and keep the fastest run (default 1).
# --warc: trawl against itself with --warc (archiving every page into
# WARC files with a CDXJ index; trawl-warcf adds --warc-compress fast,
# trawl-warc0 --warc-compress none), the
# runs of each rep back to back, instead of the comparison with colly and
# raw; the ratios are then against trawl, with the RSS difference in MiB.
# Every run is bounded by `timeout`; the server is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

pages=20000 concs="16 64" big=1 quick=0 server=auto reps=1 warc=0
while (($#)); do
	case "$1" in
	--quick) quick=1 pages=2000 concs=16 big=0 ;;
	--pages) pages="$2"; shift ;;
	--conc) concs="$2"; shift ;;
	--no-big) big=0 ;;
	--reps) reps="$2"; shift ;;
	--go-server) server=go ;;
	--warc) warc=1 big=0 ;;
	*) echo "usage: $0 [--quick] [--pages N] [--conc \"16 64\"] [--no-big] [--go-server] [--reps N] [--warc]" >&2; exit 2 ;;
	esac
	shift
done
limit=$((quick ? 120 : 900)) # seconds for one run

work="$(mktemp -d)"
chmod 755 "$work" # nginx workers may run as another user
server_pid=""
cleanup() {
	if [[ -n "$server_pid" ]]; then
		kill "$server_pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
log() { echo "bench: $*" >&2; }

log "building into $work"
go build -o "$work/trawl" .
go build -o "$work/benchsite" ./scripts/benchsite
go build -o "$work/fileserve" ./scripts/fileserve
(cd scripts/colly && GOFLAGS=-mod=mod go build -o "$work/colly" .)
(cd scripts/rawpool && GOFLAGS=-mod=mod go build -o "$work/rawpool" .)

log "writing a site of $pages pages"
"$work/benchsite" -pages "$pages" -dir "$work/site"
chmod -R a+rX "$work/site"

# free_port prints a loopback port nobody listens on (racy, so callers retry).
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
	done
	return 1
}

# wait_up URL: wait up to 10 s for URL to answer.
wait_up() {
	for _ in $(seq 100); do
		curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

start_nginx() {
	if ! command -v nginx >/dev/null; then
		command -v apt-get >/dev/null && [[ $(id -u) == 0 ]] || return 1
		log "installing nginx with apt-get"
		timeout 300 apt-get install -y nginx >"$work/apt.log" 2>&1 || return 1
	fi
	local port user=""
	[[ $(id -u) == 0 ]] && user="user root;"
	for _ in 1 2 3; do
		port=$(free_port)
		cat >"$work/nginx.conf" <<-CONF
			$user
			worker_processes 2;
			worker_rlimit_nofile 65536;
			daemon off;
			pid $work/nginx.pid;
			error_log $work/nginx-error.log warn;
			events { worker_connections 4096; }
			http {
			    access_log off;
			    sendfile on;
			    tcp_nopush on;
			    keepalive_requests 1000000;
			    keepalive_timeout 120s;
			    open_file_cache max=8000 inactive=120s; # each entry holds an fd
			    default_type text/html;
			    types { text/html html; text/plain txt; }
			    charset utf-8;
			    client_body_temp_path $work/nginx-tmp;
			    proxy_temp_path $work/nginx-tmp;
			    fastcgi_temp_path $work/nginx-tmp;
			    uwsgi_temp_path $work/nginx-tmp;
			    scgi_temp_path $work/nginx-tmp;
			    server {
			        listen 127.0.0.1:$port;
			        root $work/site;
			        index index.html;
			    }
			}
		CONF
		mkdir -p "$work/nginx-tmp"
		nginx -p "$work" -c "$work/nginx.conf" 2>>"$work/nginx-error.log" &
		server_pid=$!
		base="http://127.0.0.1:$port"
		if wait_up "$base/"; then server_name="nginx $(nginx -v 2>&1 | sed 's/.*\///')"; return 0; fi
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
		server_pid=""
	done
	return 1
}

start_go_server() {
	"$work/fileserve" -dir "$work/site" -for 2h >"$work/base" &
	server_pid=$!
	for _ in $(seq 100); do [[ -s "$work/base" ]] && break; sleep 0.1; done
	base="$(head -1 "$work/base")"
	wait_up "$base/"
	server_name="Go net/http file server (scripts/fileserve)"
}

base="" server_name=""
if [[ "$server" == go ]] || ! start_nginx; then
	[[ "$server" == go ]] || log "nginx unavailable, falling back to the Go file server"
	start_go_server
fi
log "serving on $base with $server_name"

# URL lists: the N pages, and 10×N with ?v= queries.
awk -v n="$pages" -v base="$base" 'BEGIN {
	for (i = 0; i < n; i++) printf "%s%s\n", base, (i == 0 ? "/" : "/page/" i ".html")
}' >"$work/urls.txt"
if ((big)); then
	awk -v n="$pages" -v base="$base" 'BEGIN {
		for (v = 0; v < 10; v++) for (i = 0; i < n; i++)
			printf "%s%s%s\n", base, (i == 0 ? "/" : "/page/" i ".html"), (v ? "?v=" v : "")
	}' >"$work/urls-big.txt"
fi

# command TOOL MODE CONC URLFILE: the command line of one run.
command_for() {
	local tool=$1 mode=$2 c=$3 urls=$4
	case "$tool/$mode" in
	trawl/fetch) echo "$work/trawl fetch -q --no-robots -c $c --per-host $c -o $work/out.jsonl $urls" ;;
	trawl/crawl) echo "$work/trawl crawl -q --no-robots -c $c --per-host $c -o $work/out.jsonl $base/" ;;
	trawl-warc/fetch) echo "$work/trawl fetch -q --no-robots -c $c --per-host $c --warc $work/warc/bench --warc-cdx -o $work/out.jsonl $urls" ;;
	trawl-warc/crawl) echo "$work/trawl crawl -q --no-robots -c $c --per-host $c --warc $work/warc/bench --warc-cdx -o $work/out.jsonl $base/" ;;
	trawl-warcf/fetch) echo "$work/trawl fetch -q --no-robots -c $c --per-host $c --warc $work/warc/bench --warc-cdx --warc-compress fast -o $work/out.jsonl $urls" ;;
	trawl-warcf/crawl) echo "$work/trawl crawl -q --no-robots -c $c --per-host $c --warc $work/warc/bench --warc-cdx --warc-compress fast -o $work/out.jsonl $base/" ;;
	trawl-warc0/fetch) echo "$work/trawl fetch -q --no-robots -c $c --per-host $c --warc $work/warc/bench --warc-cdx --warc-compress none -o $work/out.jsonl $urls" ;;
	trawl-warc0/crawl) echo "$work/trawl crawl -q --no-robots -c $c --per-host $c --warc $work/warc/bench --warc-cdx --warc-compress none -o $work/out.jsonl $base/" ;;
	colly/fetch) echo "$work/colly -mode list -c $c -urls $urls" ;;
	colly/crawl) echo "$work/colly -mode crawl -c $c -url $base/" ;;
	raw/fetch) echo "$work/rawpool -mode list -c $c -urls $urls" ;;
	raw/crawl) echo "$work/rawpool -mode crawl -c $c -url $base/" ;;
	esac
}

results="$work/results.tsv"
: >"$results"
# run_once TOOL MODE CONC URLFILE EXPECTED: one timed, bounded, checked
# run; appends its row to $work/reps.tsv.
run_once() {
	local tool=$1 mode=$2 c=$3 urls=$4 want=$5 cmd rc=0
	cmd=$(command_for "$tool" "$mode" "$c" "$urls")
	rm -f "$work/out.jsonl"
	rm -rf "$work/warc" && mkdir -p "$work/warc"
	log "$tool $mode c=$c ($want pages), load $(cut -d' ' -f1-3 /proc/loadavg)"
	if [[ "$tool" == trawl* ]]; then
		timeout -k 10 "$limit" /usr/bin/time -v $cmd 2>"$work/time.txt" || rc=$?
	else
		timeout -k 10 "$limit" /usr/bin/time -v $cmd >"$work/out.jsonl" 2>"$work/time.txt" || rc=$?
	fi
	touch "$work/out.jsonl"
	local lines ok dup wall cpu rss pps cpuk check
	lines=$(wc -l <"$work/out.jsonl")
	# pages fetched with status 200, each counted once
	ok=$(grep '"status":200' "$work/out.jsonl" | grep -o '"url":"[^"]*"' | sort -u | wc -l)
	dup=$((lines - $(grep -o '"url":"[^"]*"' "$work/out.jsonl" | sort -u | wc -l)))
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$work/time.txt")
	cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.2f", u+s}' "$work/time.txt")
	rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$work/time.txt")
	pps=$(awk -v n="$ok" -v w="${wall:-0}" 'BEGIN {printf "%.0f", (w > 0 ? n / w : 0)}')
	cpuk=$(awk -v n="$ok" -v c="$cpu" 'BEGIN {printf "%.2f", (n > 0 ? c * 1000 / n : 0)}')
	check=ok
	if ((rc == 124 || rc == 137)); then check="TIMEOUT"
	elif [[ "$ok" != "$want" ]]; then check="FAIL(rc=$rc,pages_200=$ok,lines=$lines)"
	elif ((dup > 0)); then check="ok, $dup fetched twice"
	fi
	if [[ "$tool" == trawl-warc* ]]; then
		log "warc: $(du -sm "$work/warc" | cut -f1) MB in $(ls "$work/warc" | grep -c 'warc.gz$') file(s)"
		printf "%s\t%s\t%s\t%s\n" "$tool" "$mode" "$c" "$(cat "$work"/warc/*.warc.gz 2>/dev/null | wc -c)" >>"$work/sizes.tsv"
	fi
	printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$tool" "$mode" "$c" "$want" "$wall" "$pps" "$cpuk" "$rss" "$check" >>"$work/reps-$tool.tsv"
}

# run TOOL MODE CONC URLFILE EXPECTED: $reps runs; the table gets the first
# one that failed its check, or else the fastest (best of N, as the machine
# is shared and noisy).
run() {
	: >"$work/reps-$1.tsv"
	for ((rep = 1; rep <= reps; rep++)); do run_once "$@"; done
	keep "$1"
}

# keep TOOL: appends to the results the run of TOOL kept (see run).
keep() {
	if cut -f9 "$work/reps-$1.tsv" | grep -qv '^ok'; then
		awk -F'\t' '$9 !~ /^ok/' "$work/reps-$1.tsv" | head -n 1 >>"$results"
	else
		sort -t$'\t' -k5,5g "$work/reps-$1.tsv" | head -n 1 >>"$results"
	fi
}

# run_pair MODE CONC URLFILE EXPECTED: trawl, trawl-warc, trawl-warcf
# and trawl-warc0, each rep's runs back to back (the machine's load
# changes between reps).
run_pair() {
	local tool
	for tool in trawl trawl-warc trawl-warcf trawl-warc0; do : >"$work/reps-$tool.tsv"; done
	for ((rep = 1; rep <= reps; rep++)); do
		for tool in trawl trawl-warc trawl-warcf trawl-warc0; do run_once "$tool" "$@"; done
	done
	for tool in trawl trawl-warc trawl-warcf trawl-warc0; do keep "$tool"; done
}

load_start=$(uptime)
for c in $concs; do
	for mode in fetch crawl; do
		if ((warc)); then
			run_pair "$mode" "$c" "$work/urls.txt" "$pages"
			continue
		fi
		for tool in trawl colly raw; do
			run "$tool" "$mode" "$c" "$work/urls.txt" "$pages"
		done
	done
done
if ((big)); then
	c=${concs##* }
	for tool in trawl colly; do
		run "$tool" fetch "$c" "$work/urls-big.txt" $((pages * 10))
	done
fi
load_end=$(uptime)

report() {
	echo "trawl benchmark, $(date -u +%FT%TZ), $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
	echo "machine: $(nproc) cores, $(go version | cut -d' ' -f3-), server: $server_name on loopback"
	echo "site: $pages pages, $(du -sm "$work/site" | cut -f1) MB; load at start:$(echo "$load_start" | sed 's/.*load average//'), at end:$(echo "$load_end" | sed 's/.*load average//')"
	echo "cpu = client user+sys seconds per 1,000 pages (the server's CPU is not counted); best of $reps run(s) each"
	echo
	printf "%-11s %-6s %4s %7s %8s %8s %9s %8s  %s\n" tool mode c pages wall_s pages/s cpu/1k rss_MiB check
	while IFS=$'\t' read -r tool mode c want wall pps cpuk rss check; do
		printf "%-11s %-6s %4s %7s %8s %8s %9s %8s  %s\n" "$tool" "$mode" "$c" "$want" "$wall" "$pps" "$cpuk" "$rss" "$check"
	done <"$results"
	if [[ -s "$work/sizes.tsv" ]]; then
		echo
		echo "archive sizes (.warc.gz files, MB of 10^6 bytes):"
		awk -F'\t' '{ size[$1 "\t" $2 "\t" $3] = $4 } END { for (k in size) { split(k, p, "\t"); printf "  %-11s %-6s %4s %8.1f\n", p[1], p[2], p[3], size[k] / 1e6 } }' "$work/sizes.tsv" | sort
	fi
	echo
	echo "ratios trawl/other (pages/s: >1 is trawl faster; cpu/1k and rss: <1 is trawl leaner)"
	printf "%-6s %4s %7s %-6s %9s %9s %9s\n" mode c pages vs pages/s cpu/1k rss
	awk -F'\t' '
		{ key = $2 FS $3 FS $4; pps[$1, key] = $6; cpu[$1, key] = $7; rss[$1, key] = $8; keys[key] = 1 }
		function r(a, b) { return (b > 0 ? sprintf("%.2f", a / b) : "-") }
		END {
			n = 0
			for (k in keys) order[++n] = k
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (order[j] < order[i]) { t = order[i]; order[i] = order[j]; order[j] = t }
			for (i = 1; i <= n; i++) {
				k = order[i]; split(k, p, FS)
				for (w = 1; w <= 3; w++) {
					wt = (w == 1 ? "trawl-warc" : (w == 2 ? "trawl-warcf" : "trawl-warc0"))
					if (((wt, k) in pps) && (("trawl", k) in pps))
						printf "%-6s %4s %7s %-6s %9s %9s %9s  (%s/trawl; rss: %+d MiB)\n", p[1], p[2], p[3], "trawl", \
							r(pps[wt, k], pps["trawl", k]), r(cpu[wt, k], cpu["trawl", k]), r(rss[wt, k], rss["trawl", k]), wt,
							rss[wt, k] - rss["trawl", k]
				}
				for (o = 1; o <= 2; o++) {
					other = (o == 1 ? "colly" : "raw")
					if (!((other, k) in pps) || !(("trawl", k) in pps)) continue
					printf "%-6s %4s %7s %-6s %9s %9s %9s\n", p[1], p[2], p[3], other,
						r(pps["trawl", k], pps[other, k]), r(cpu["trawl", k], cpu[other, k]), r(rss["trawl", k], rss[other, k])
				}
			}
		}' "$results"
}

mkdir -p scripts/results
out="scripts/results/bench-$( ((warc)) && echo warc- )$( ((quick)) && echo quick- )$(date +%F).txt"
report | tee "$out"
log "written to $out"
if cut -f9 "$results" | grep -qv "^ok"; then
	log "some runs failed their check"
	exit 1
fi
