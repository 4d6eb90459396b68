#!/bin/sh
# structdata-compare.sh: compare trawl's jsonld and opengraph fields with
# extruct's (apt-get install python3-extruct) on the pages of the public
# corpus in ../shared/corpus (dev split by default; SPLIT=holdout for the
# other). The pages are unpacked into a temporary directory, never into
# the repository, served on 127.0.0.1 and fetched with
#   trawl fetch --fields url,html,jsonld,jsonld_errors,opengraph
# and scripts/structdata-compare.py reports every page where the two
# disagree, then the counts. Exit status 1 when some page disagrees.
# OUT=FILE keeps trawl's records.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
corpus=${CORPUS:-$root/../shared/corpus}
split=${SPLIT:-dev}
[ -f "$corpus/$split-pages.tar.xz" ] || { echo "structdata-compare: no corpus at $corpus" >&2; exit 2; }
/usr/bin/python3 -c 'import extruct' 2>/dev/null || { echo "structdata-compare: needs python3-extruct (apt-get install python3-extruct)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'kill $srv 2>/dev/null; rm -rf "$tmp"' EXIT
tar -xJf "$corpus/$split-pages.tar.xz" -C "$tmp"
(cd "$root" && go build -o "$tmp/trawl" . && go build -o "$tmp/fileserve" ./scripts/fileserve)
"$tmp/fileserve" --dir "$tmp/$split" --for 30m > "$tmp/url" &
srv=$!
while [ ! -s "$tmp/url" ]; do sleep 0.1; done
base=$(head -1 "$tmp/url")
/usr/bin/python3 -c '
import json, sys, urllib.parse
for line in open(sys.argv[1]):
    print(sys.argv[2] + "/" + urllib.parse.quote(json.loads(line)["file"]))
' "$corpus/$split.jsonl" "$base" > "$tmp/urls.txt"
"$tmp/trawl" fetch -q --no-robots -c 8 --per-host 8 --fields url,html,jsonld,jsonld_errors,opengraph "$tmp/urls.txt" > "$tmp/out.jsonl"
[ -z "${OUT:-}" ] || cp "$tmp/out.jsonl" "$OUT"
echo "== extruct as it comes (its lxml/libxml2 parser)"
/usr/bin/python3 "$root/scripts/structdata-compare.py" lxml < "$tmp/out.jsonl" && st=0 || st=$?
echo "== extruct's extractors on html5lib's tree (the HTML standard's parser, as trawl's)"
/usr/bin/python3 "$root/scripts/structdata-compare.py" html5 < "$tmp/out.jsonl" 2>/dev/null || true
exit $st
