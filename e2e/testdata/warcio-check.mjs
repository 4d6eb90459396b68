// Reads WARC files with webrecorder's warcio (an implementation
// independent of trawl's) and prints one JSON line per record: its type,
// target, offset and, for a response record, whether the payload digest
// computed here (SHA-1, base32, over the payload with its chunked
// transfer encoding removed by warcio, content encoding kept) is the one
// in the record. Usage: node warcio-check.mjs FILE...
import fs from "node:fs";
import crypto from "node:crypto";
import { WARCParser, AsyncIterReader } from "warcio";

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
function base32(buf) {
  let bits = 0, value = 0, out = "";
  for (const b of buf) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  while (out.length % 8) out += "=";
  return out;
}

for (const file of process.argv.slice(2)) {
  const parser = new WARCParser(fs.createReadStream(file));
  for await (const record of parser) {
    const line = { file, offset: parser.offset, type: record.warcType, uri: record.warcTargetURI || "" };
    const raw = await record.readFully(false);
    if (record.warcType === "response" && record.httpHeaders) {
      const te = (record.httpHeaders.headers.get("Transfer-Encoding") || "").toLowerCase();
      const payload = te === "chunked" ? await new AsyncIterReader([raw], null, true).readFully() : raw;
      const want = record.warcPayloadDigest;
      const got = "sha1:" + base32(crypto.createHash("sha1").update(payload).digest());
      line.status = record.httpHeaders.statusCode;
      line.digest = want;
      line.digestOK = got === want;
      if (!line.digestOK) line.computed = got;
    }
    console.log(JSON.stringify(line));
  }
}
