// regenkey-expect: RK-CLI-001
// regenkey-fault: plain read as fields split on "|", each split on every "=": a reason holding "=" is cut
// regenkey-flags: --formats plain
// Node (http, no packages), adapter mode: prints the record it parsed as one JSON object;
// correct in all but the fault.
"use strict";
const http = require("http");
const qs = require("querystring");
const env = process.env;

// One regeneration: by KEY in the apiKey header, else by userId and password.
function regenerate(key, format, done) {
  const fields = key ? { format } : { userId: env.REGENKEY_USER_ID, password: env.REGENKEY_PASSWORD, format };
  const body = qs.stringify(fields);
  const headers = { "content-type": "application/x-www-form-urlencoded", "content-length": Buffer.byteLength(body) };
  if (key) headers.apiKey = key;
  const url = env.REGENKEY_BASE_URL + "/SMSApi/rest/regenerateAPIKey";
  const req = http.request(url, { method: "POST", headers, timeout: 3000 }, (res) => {
    const chunks = [];
    res.on("data", (chunk) => chunks.push(chunk));
    res.on("end", () => done(null, res, Buffer.concat(chunks)));
  });
  req.on("timeout", () => req.destroy(new Error("no answer in time")));
  req.on("error", (err) => done(err));
  req.end(body);
}

function fail(err) {
  console.error(`regeneration failed: ${err.message}`);
  process.exit(1);
}

// The fault: fields split on "|", each split on every "=", so a value holding "=" is cut.
function parse(format, text) {
  const record = {};
  for (const field of text.split("|")) {
    const parts = field.split("=");
    if (parts.length < 2) return null;
    record[parts[0].trim()] = parts[1].trim();
  }
  return record.status === "success" || record.status === "error" ? record : null;
}

const format = env.REGENKEY_FORMAT;
regenerate(env.REGENKEY_API_KEY, format, (err, res, body) => {
  if (err) fail(err);
  const record = parse(format, body.toString("utf8"));
  if (!record) fail(new Error("an answer that is no record"));
  console.log(JSON.stringify(record));
});
