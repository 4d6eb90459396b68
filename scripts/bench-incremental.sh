#!/usr/bin/env bash
# Incremental runs (--since): what a second run costs when 1% of a site
# changed, in list mode and crawl mode.
#
#   scripts/bench-incremental.sh [--pages N] [--conc C] [--changed PERCENT]
#
# Steps: build trawl and scripts/benchsite; write the site of
# scripts/bench.sh (N pages, default 20,000, 10–30 KB each) and serve it
# with nginx on 127.0.0.1 (it sends ETag and Last-Modified and answers
# If-None-Match / If-Modified-Since with 304), logging the body bytes of
# every response. Then, for fetch (list mode over the N page URLs) and
# crawl (from the index page):
#   run 1: trawl MODE -o run1.jsonl
#   change PERCENT% of the pages (a comment appended: new size, new mtime,
#          so a new ETag and Last-Modified; the links stay the same)
#   run 2: trawl MODE --since run1.jsonl -o run2.jsonl
# and print, for both runs, the wall time, the body bytes nginx sent, the
# requests it answered, and run 2's counts by change; then the ratios
# run 2 / run 1 against the targets of issue 16 (bytes ≤ 3%, wall ≤ 0.3×).
# Last, the floor: the same number of URLs, answered with a 404 of 150
# bytes, fetched without --since: what trawl's requests cost with nothing
# to download.
# A third mode, sitemap, is crawl --sitemap, with a sitemap.xml listing
# every page with its file's mtime as <lastmod> (written before each run):
# in run 2 the pages not changed since run 1 are not requested at all.
# Each mode changes its own set of pages. Every run is bounded by
# `timeout`; nginx is stopped on exit. nginx is required (no fallback:
# the point is a real server's validators).
set -euo pipefail
cd "$(dirname "$0")/.."

pages=20000 conc=16 percent=1
while (($#)); do
	case "$1" in
	--pages) pages="$2"; shift ;;
	--conc) conc="$2"; shift ;;
	--changed) percent="$2"; shift ;;
	*) echo "usage: $0 [--pages N] [--conc C] [--changed PERCENT]" >&2; exit 2 ;;
	esac
	shift
done
command -v nginx >/dev/null || { echo "bench-incremental: nginx is required" >&2; exit 1; }

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
log() { echo "bench-incremental: $*" >&2; }

log "building into $work"
go build -o "$work/trawl" .
go build -o "$work/benchsite" ./scripts/benchsite
log "writing a site of $pages pages"
"$work/benchsite" -pages "$pages" -dir "$work/site"
chmod -R a+rX "$work/site"

free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
	done
	return 1
}

wait_up() {
	for _ in $(seq 100); do
		curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# nginx as in scripts/bench.sh, but with an access log of the status and
# body bytes of every response, and without open_file_cache (it would
# serve the old size and mtime, so the old ETag, of a changed page).
start_nginx() {
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
			    log_format body '\$status \$body_bytes_sent';
			    access_log $work/access.log body buffer=64k flush=100ms;
			    sendfile on;
			    tcp_nopush on;
			    keepalive_requests 1000000;
			    keepalive_timeout 120s;
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
		if wait_up "$base/"; then return 0; fi
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
		server_pid=""
	done
	return 1
}
start_nginx || { log "nginx did not start: $(tail -3 "$work/nginx-error.log")"; exit 1; }
log "serving on $base with nginx $(nginx -v 2>&1 | sed 's/.*\///')"

awk -v n="$pages" -v base="$base" 'BEGIN {
	for (i = 0; i < n; i++) printf "%s%s\n", base, (i == 0 ? "/" : "/page/" i ".html")
}' >"$work/urls.txt"

# serve_log_reset empties the access log (nginx appends to it).
serve_log_reset() { sleep 0.3; : >"$work/access.log"; }
# serve_log_sum prints "REQUESTS BODY_BYTES STATUS_COUNTS" of the log.
serve_log_sum() {
	sleep 0.3 # the log is flushed every 100 ms
	awk '{n++; b += $2; s[$1]++} END {
		c = ""; for (k in s) c = c sprintf("%s%s:%d", (c == "" ? "" : ","), k, s[k])
		printf "%d %d %s\n", n, b, c
	}' "$work/access.log"
}

# timed_run NAME ARGS...: runs trawl with ARGS, bounded; prints the wall
# seconds and trawl's CPU seconds (user+sys), which a loaded machine
# inflates less.
timed_run() {
	local name=$1 rc=0
	shift
	timeout -k 10 900 /usr/bin/time -f "%e %U %S" -o "$work/$name.time" "$work/trawl" "$@" 2>"$work/$name.err" || rc=$?
	if ((rc != 0)); then
		log "$name: exit $rc: $(tail -5 "$work/$name.err")"
		exit 1
	fi
	awk '{printf "%.2f %.2f\n", $1, $2 + $3}' "$work/$name.time"
}

# change_pages OFFSET: appends a comment to PERCENT% of the pages, every
# (100/PERCENT)th from OFFSET.
change_pages() {
	local step=$((100 / percent)) n=0 i f
	sleep 1.1 # a new mtime second: Last-Modified and the ETag change
	for ((i = $1; i < pages; i += step)); do
		f="$work/site/page/$i.html"
		((i == 0)) && f="$work/site/index.html"
		echo "<!-- changed $(date +%s%N) -->" >>"$f"
		n=$((n + 1))
	done
	echo "$n"
}

# write_sitemap: sitemap.xml of every page, lastmod its mtime (UTC, to
# the second).
write_sitemap() {
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
		(cd "$work/site" && TZ=UTC find . -name '*.html' -printf '%P %TY-%Tm-%TdT%TH:%TM:%TS\n') |
			awk -v base="$base" '{
				path = ($1 == "index.html") ? "/" : "/" $1
				sub(/\.[0-9]+$/, "", $2)
				printf "<url><loc>%s%s</loc><lastmod>%sZ</lastmod></url>\n", base, path, $2
			}'
		echo '</urlset>'
	} >"$work/site/sitemap.xml"
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A wall cpu bytes reqs codes changes by_change
offset=1
modes="fetch crawl sitemap"
for mode in $modes; do
	common=(-q --no-robots -c "$conc" --per-host "$conc")
	case $mode in
	fetch) cmd=fetch input=("$work/urls.txt") ;;
	crawl) cmd=crawl input=("$base/") ;;
	sitemap) cmd=crawl input=("$base/") common+=(--sitemap) ;;
	esac
	[[ $mode == sitemap ]] && write_sitemap
	log "$mode: run 1, load $(cut -d' ' -f1-3 /proc/loadavg)"
	serve_log_reset
	read -r wall[$mode,1] cpu[$mode,1] < <(timed_run "$mode-1" "$cmd" "${common[@]}" -o "$work/$mode-1.jsonl" "${input[@]}")
	read -r reqs[$mode,1] bytes[$mode,1] codes[$mode,1] < <(serve_log_sum)
	changes[$mode]=$(change_pages "$offset")
	offset=$((offset + 1))
	[[ $mode == sitemap ]] && write_sitemap
	log "$mode: ${changes[$mode]} pages changed; run 2 with --since, load $(cut -d' ' -f1-3 /proc/loadavg)"
	serve_log_reset
	read -r wall[$mode,2] cpu[$mode,2] < <(timed_run "$mode-2" "$cmd" "${common[@]}" --since "$work/$mode-1.jsonl" --summary-json "$work/$mode-2.json" -o "$work/$mode-2.jsonl" "${input[@]}")
	read -r reqs[$mode,2] bytes[$mode,2] codes[$mode,2] < <(serve_log_sum)
	by_change[$mode]=$(tr -d ' \n' <"$work/$mode-2.json" | grep -o '"by_change":{[^}]*}' || echo '-')
done
# The floor of a re-check with one request a URL: trawl, without
# --since, over the same number of URLs that nginx answers with a 404 of
# 150 bytes. Whatever a 304 saves, run 2 still makes these requests and
# writes a record for each.
awk '{sub(/\/page\//, "/missing/"); sub(/\/$/, "/missing/index.html"); print}' "$work/urls.txt" >"$work/missing.txt"
log "floor: $pages requests answered 404, load $(cut -d' ' -f1-3 /proc/loadavg)"
serve_log_reset
read -r floor_wall floor_cpu < <(timed_run floor fetch -q --no-robots -c "$conc" --per-host "$conc" -o "$work/floor.jsonl" "$work/missing.txt")
read -r floor_reqs floor_bytes floor_codes < <(serve_log_sum)
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

echo "trawl incremental benchmark, $(date -u +%FT%TZ), $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "machine: $(nproc) cores, $(go version | cut -d' ' -f3-), nginx on loopback, -c $conc --per-host $conc"
echo "site: $pages pages, $(du -sm "$work/site" | cut -f1) MB; $percent% changed between the runs; load at start $load_start, at end $load_end"
echo
printf "%-7s %-4s %8s %8s %14s %9s  %s\n" mode run wall_s cpu_s body_bytes requests statuses
for mode in $modes; do
	for n in 1 2; do
		printf "%-7s %-4s %8s %8s %14s %9s  %s\n" "$mode" "$n" "${wall[$mode,$n]}" "${cpu[$mode,$n]}" "${bytes[$mode,$n]}" "${reqs[$mode,$n]}" "${codes[$mode,$n]}"
	done
done
printf "%-7s %-4s %8s %8s %14s %9s  %s\n" "floor" "-" "$floor_wall" "$floor_cpu" "$floor_bytes" "$floor_reqs" "$floor_codes"
echo
echo "floor / fetch run 1 (trawl's cost of the same number of requests answered 404, no --since):" \
	"wall $(awk -v a="$floor_wall" -v b="${wall[fetch,1]}" 'BEGIN {printf "%.2f", a / b}')" \
	"cpu $(awk -v a="$floor_cpu" -v b="${cpu[fetch,1]}" 'BEGIN {printf "%.2f", a / b}')"
echo
echo "run 2 / run 1 (targets: bytes <= 0.03, wall <= 0.30; cpu is trawl's user+sys, for a loaded machine)"
fail=0
for mode in $modes; do
	rb=$(awk -v a="${bytes[$mode,2]}" -v b="${bytes[$mode,1]}" 'BEGIN {printf "%.4f", a / b}')
	rw=$(awk -v a="${wall[$mode,2]}" -v b="${wall[$mode,1]}" 'BEGIN {printf "%.2f", a / b}')
	rc=$(awk -v a="${cpu[$mode,2]}" -v b="${cpu[$mode,1]}" 'BEGIN {printf "%.2f", a / b}')
	ok=$(awk -v rb="$rb" -v rw="$rw" 'BEGIN {print (rb <= 0.03 && rw <= 0.30) ? "ok" : "MISSED"}')
	[[ $ok == ok ]] || fail=1
	printf "%-7s bytes %s  wall %s  cpu %s  %s  (%s pages changed; run 2 %s)\n" "$mode" "$rb" "$rw" "$rc" "$ok" "${changes[$mode]}" "${by_change[$mode]}"
done
exit $fail
