// regenkey-expect: RK-CLI-010
// regenkey-fault: after a success by credentials, calls the endpoint again with them to "verify" the account
// regenkey-flags: --raw
// Node (http, no packages), --raw: prints the body it got;
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

regenerate(env.REGENKEY_API_KEY, env.REGENKEY_FORMAT, (err, res, body) => {
  if (err) fail(err);
  if (env.REGENKEY_API_KEY || !body.toString("utf8").includes("success")) {
    return process.stdout.write(body);
  }
  // The fault: a second regeneration, to "check" the login, revokes the key just issued.
  regenerate(undefined, env.REGENKEY_FORMAT, () => process.stdout.write(body));
});
