// regenkey check-client --formats json --command "node tests/clients/readme_client.js"
const http = require("http");
const env = process.env, key = env.REGENKEY_API_KEY;
const fields = key ? {} : { userId: env.REGENKEY_USER_ID, password: env.REGENKEY_PASSWORD };
const form = new URLSearchParams({ ...fields, format: "json" }).toString();
const headers = { "content-type": "application/x-www-form-urlencoded", ...(key && { apiKey: key }) };
const fail = (why) => { console.error(`regeneration failed: ${why}`); process.exit(1); };
const url = `${env.REGENKEY_BASE_URL}/SMSApi/rest/regenerateAPIKey`;
const seconds = Number(env.REGENKEY_CLIENT_TIMEOUT) || 10; // the kit's deadline
const req = http.request(url, { method: "POST", headers, timeout: seconds * 1000 }, (res) => {
  let body = "";
  res.setEncoding("utf8").on("data", (chunk) => (body += chunk)).on("end", () => {
    let r;
    try { r = JSON.parse(body); } catch { fail(`HTTP ${res.statusCode}, no JSON record`); }
    if (r?.status !== "success" && r?.status !== "error") fail("no status in the answer");
    const { status, statusCode, reason, apiKey } = r;
    console.log(JSON.stringify({ status, statusCode, reason, apiKey }));
  });
});
req.on("timeout", () => req.destroy(new Error(`no answer within ${seconds} s`)));
req.on("error", (err) => fail(err.message));
req.end(form);
