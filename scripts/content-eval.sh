#!/bin/sh
# content-eval.sh measures main-content extraction on the evaluation corpus
# in ../shared/corpus (relative to the repository root; see its README):
# precision, recall and F1 of trawl's markdown and text, of readability
# alone and of the whole page converted to Markdown.
#
#   scripts/content-eval.sh [dev|holdout] [contenteval flags, e.g. -v]
#
# trawl's markdown is scored twice: as the corpus README says (whitespace
# collapsed, the characters \ * _ ` # > | [ ] dropped), and rendered
# ("... rendered": the text content of the HTML that GitHub's Markdown
# makes of it, so that a link's destination does not split a snippet
# that runs through its text; the whole page's Markdown is scored both
# ways too). The comparison is about the text a reader gets.
#
# Tune on dev only; the holdout is for the final measurement. The pages are
# unpacked into a temporary directory, never into the repository.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
corpus=${CORPUS:-$root/../shared/corpus}
split=${1:-dev}
[ $# -gt 0 ] && shift
case $split in
dev | holdout) ;;
*)
	echo "content-eval.sh: unknown split $split (dev or holdout)" >&2
	exit 2
	;;
esac
if [ ! -f "$corpus/$split.jsonl" ] || [ ! -f "$corpus/$split-pages.tar.xz" ]; then
	echo "content-eval.sh: corpus not found in $corpus ($split.jsonl, $split-pages.tar.xz)" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -xJf "$corpus/$split-pages.tar.xz" -C "$tmp"
cd "$root"
go build -o "$tmp/contenteval" ./scripts/contenteval
GOMAXPROCS=1 "$tmp/contenteval" -meta "$corpus/$split.jsonl" -pages "$tmp" "$@"
