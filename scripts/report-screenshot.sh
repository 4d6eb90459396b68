#!/usr/bin/env bash
# Regenerates docs/report.png, the README's screenshot of `trawl report`:
# crawls the demo site, writes its report and takes a screenshot of the
# top of the page with headless Chromium (apt-get install chromium).
#
#   scripts/report-screenshot.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
chromium="$(command -v chromium || command -v chromium-browser || true)"
if [[ -z "$chromium" ]]; then
	echo "report-screenshot: no chromium on PATH (apt-get install chromium)" >&2
	exit 1
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

go build -o "$work/trawl" .
cd "$work"
./trawl demo -q -o demo.jsonl
./trawl report demo.jsonl -o report.html
"$chromium" --headless --no-sandbox --disable-gpu --disable-background-networking \
	--disable-component-update --disable-sync --no-first-run --user-data-dir="$work/profile" \
	--hide-scrollbars --window-size=1100,1500 --screenshot="$root/docs/report.png" \
	"file://$work/report.html" 2>/dev/null
echo "wrote docs/report.png"
