// regenkey-expect: RK-CLI-007
// regenkey-fault: follows a redirect to another origin, re-sending the apiKey header and the form body
// regenkey-flags: --raw
// Node (http, no packages), --raw: prints the body it got;
// correct in all but the fault.
"use strict";
const http = require("http");
const qs = require("querystring");
const env = process.env;

// The fault: any 3xx is followed to wherever it points, with the same headers and body.
function regenerate(key, format, done, url = env.REGENKEY_BASE_URL + "/SMSApi/rest/regenerateAPIKey", hops = 3) {
  const fields = key ? { format } : { userId: env.REGENKEY_USER_ID, password: env.REGENKEY_PASSWORD, format };
  const body = qs.stringify(fields);
  const headers = { "content-type": "application/x-www-form-urlencoded", "content-length": Buffer.byteLength(body) };
  if (key) headers.apiKey = key;
  const req = http.request(url, { method: "POST", headers, timeout: 3000 }, (res) => {
    const chunks = [];
    res.on("data", (chunk) => chunks.push(chunk));
    res.on("end", () => {
      const location = res.headers.location;
      if (res.statusCode >= 300 && res.statusCode < 400 && location && hops > 0) {
        return regenerate(key, format, done, new URL(location, url).href, hops - 1);
      }
      done(null, res, Buffer.concat(chunks));
    });
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
  process.stdout.write(body);
});
