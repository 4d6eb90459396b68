#!/usr/bin/python3
"""Compare trawl's jsonld and opengraph fields with extruct's.

Usage: structdata-compare.py [lxml|html5] < records.jsonl

Reads trawl's JSON Lines records (with url, html, jsonld, jsonld_errors
and opengraph) on stdin, runs extruct (python3-extruct) on each record's
html -- the page as trawl decoded it, so that both read the same text --
and prints one line per disagreement, then the counts.

extruct's values are compared after trawl's rule for every text it
writes: control characters but tab and newline removed (a "\r\n"
escape in a JSON-LD string is "\n" in trawl's record).

"lxml" (the default) runs extruct as it comes, with lxml's HTML parser
(libxml2). "html5" runs extruct's extractors on the tree html5lib builds
(lxml.html.html5parser): a parser of the HTML standard like trawl's, but
with scripting off, so that a <noscript><iframe> or <noscript><img> in
<head> (Google Tag Manager's snippet) starts <body> and the <meta> after
it go there, where a browser (scripting on) and trawl keep them in
<head>.

Figures on the dev split (639 pages), extruct as it comes: JSON-LD
identical on 305/305 pages that have some (7 pages where extruct raises
on invalid JSON-LD are counted apart: trawl reports those blocks in
jsonld_errors); OpenGraph identical on 534/535, the one left a <meta>
between </head> and <body>, which the HTML standard puts in <head> and
libxml2 in a <p> of <body>.

JSON-LD: extruct's list of items against trawl's jsonld, compared as
parsed JSON (numbers by value). OpenGraph: extruct's properties whose
names start with og: or article: (extruct's default namespaces that
trawl keeps) against the same keys of trawl's opengraph; a repeated
property is a list on both sides.
"""
import json
import re
import sys
import warnings

import extruct.jsonld
import extruct.opengraph
import lxml.html.html5parser


class Html5Document:
    """An lxml tree from html5lib as extruct's OpenGraph extractor reads
    a document: xpath, and .head as lxml.html's elements have it."""

    def __init__(self, root):
        self.root = root
        heads = root.xpath("//head")
        self.head = heads[0] if heads else None

    def xpath(self, path):
        return self.root.xpath(path)


def og_of_extruct(items):
    out = {}
    for item in items:
        for k, v in item["properties"]:
            if not (k.startswith("og:") or k.startswith("article:")):
                continue
            if k in out:
                if not isinstance(out[k], list):
                    out[k] = [out[k]]
                out[k].append(v)
            else:
                out[k] = v
    return out


CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def cleaned(v):
    """v with trawl's rule for every text it writes: control characters
    (C0 but tab and newline, DEL, C1) removed."""
    if isinstance(v, str):
        return CONTROL.sub("", v)
    if isinstance(v, list):
        return [cleaned(x) for x in v]
    if isinstance(v, dict):
        return {cleaned(k): cleaned(x) for k, x in v.items()}
    return v


def first_diff(a, b, path="$"):
    """The path of the first difference between a and b, with both values."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if a.get(k, "<missing>") != b.get(k, "<missing>"):
                return first_diff(a.get(k, "<missing>"), b.get(k, "<missing>"), f"{path}.{k}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return first_diff(x, y, f"{path}[{i}]")
    return f"{path}: extruct={json.dumps(a)[:150]} trawl={json.dumps(b)[:150]}"


def og_of_trawl(rec):
    og = rec.get("opengraph") or {}
    return {k: v for k, v in og.items() if k.startswith("og:") or k.startswith("article:")}


def main():
    parser = sys.argv[1] if len(sys.argv) > 1 else "lxml"
    counts = dict(parser=parser, pages=0, html=0, extruct_failed=0, jsonld_pages=0, jsonld_same=0,
                  jsonld_diff=0, og_pages=0, og_same=0, og_diff=0)
    warnings.simplefilter("ignore")  # html5lib's notes on names lxml cannot hold
    html5 = lxml.html.html5parser.HTMLParser(namespaceHTMLElements=False)
    for line in sys.stdin:
        rec = json.loads(line)
        counts["pages"] += 1
        html = rec.get("html")
        if not html:
            continue
        counts["html"] += 1
        url = rec["url"]
        try:
            if parser == "html5":
                doc = lxml.html.html5parser.document_fromstring(html, parser=html5)
                ej = extruct.jsonld.JsonLdExtractor().extract_items(doc)
                eo = og_of_extruct(extruct.opengraph.OpenGraphExtractor().extract_items(Html5Document(doc)))
            else:
                ej = extruct.jsonld.JsonLdExtractor().extract(html.encode("utf-8"), encoding="UTF-8")
                eo = og_of_extruct(extruct.opengraph.OpenGraphExtractor().extract(html.encode("utf-8"), encoding="UTF-8"))
        except Exception as e:  # extruct failed: not counted as a disagreement
            counts["extruct_failed"] += 1
            print(f"extruct-failed\t{url}\t{type(e).__name__}: {str(e)[:100]}")
            continue
        ej, eo = cleaned(ej), cleaned(eo)
        tj = rec.get("jsonld") or []
        if ej or tj:
            counts["jsonld_pages"] += 1
            if ej == tj:
                counts["jsonld_same"] += 1
            else:
                counts["jsonld_diff"] += 1
                print(f"jsonld-differs\t{url}\t{first_diff(ej, tj)}\terrors={json.dumps(rec.get('jsonld_errors'))[:200]}")
        to = og_of_trawl(rec)
        if eo or to:
            counts["og_pages"] += 1
            if eo == to:
                counts["og_same"] += 1
            else:
                counts["og_diff"] += 1
                only_e = {k: v for k, v in eo.items() if to.get(k) != v}
                only_t = {k: v for k, v in to.items() if eo.get(k) != v}
                print(f"opengraph-differs\t{url}\textruct={json.dumps(only_e)[:200]}\ttrawl={json.dumps(only_t)[:200]}")
    print("counts: " + json.dumps(counts))
    return 1 if counts["jsonld_diff"] or counts["og_diff"] else 0


if __name__ == "__main__":
    sys.exit(main())
