"""The code samples of the reference, kept in one place.

Every sample reads ``REGENKEY_BASE_URL`` and either ``REGENKEY_USER_ID`` +
``REGENKEY_PASSWORD`` or ``REGENKEY_API_KEY`` from the environment, so the
code the page shows is the code ``tests/test_docs.py`` runs against the
reference server: it takes each sample out of the generated Markdown by its
name and runs it with :meth:`Sample.argv`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from conformance import Format


@dataclass(frozen=True)
class Sample:
    name: str
    title: str
    lang: str  # the Markdown fence's language
    code: str
    run: tuple[str, ...]  # "{python}" and "{file}" are filled in by argv()
    suffix: str
    fmt: Format  # the format it asks for
    prints: str  # "body": the response as received; "key": the new key
    auth: str  # "credentials" or "key"

    @property
    def tool(self) -> str:
        """The program the sample needs installed ("python": the one running the kit)."""
        return {"sh": "curl", "python": "python"}.get(self.lang, self.run[0])

    def argv(self, file: Path, python: str) -> list[str]:
        return [python if a == "{python}" else str(file) if a == "{file}" else a for a in self.run]


CURL_CREDENTIALS = """\
curl -sS "$REGENKEY_BASE_URL/SMSApi/rest/regenerateAPIKey" \\
  --data-urlencode "userId=$REGENKEY_USER_ID" \\
  --data-urlencode "password=$REGENKEY_PASSWORD" \\
  --data-urlencode "format=json"
"""

CURL_API_KEY = """\
curl -sS "$REGENKEY_BASE_URL/SMSApi/rest/regenerateAPIKey" \\
  -H "apiKey: $REGENKEY_API_KEY" \\
  --data-urlencode "format=plain"
"""

CURL_GET = """\
curl -sS -G "$REGENKEY_BASE_URL/SMSApi/rest/regenerateAPIKey" \\
  -H "apiKey: $REGENKEY_API_KEY" \\
  --data-urlencode "format=xml"
"""

PYTHON_CLIENT = """\
import os

from reference_impl.client import ApiError, regenerate_api_key

try:
    result = regenerate_api_key(
        os.environ["REGENKEY_BASE_URL"],
        user_id=os.environ["REGENKEY_USER_ID"],
        password=os.environ["REGENKEY_PASSWORD"],  # URL-encoded for you
        format="json",
    )
except ApiError as error:  # the error envelope: judged by the body, not the HTTP status
    raise SystemExit(f"refused: {error.status_code} {error.reason}")
print(result.api_key)  # the previous key no longer works
"""

PYTHON_HTTPX = """\
import os

import httpx

response = httpx.post(
    os.environ["REGENKEY_BASE_URL"] + "/SMSApi/rest/regenerateAPIKey",
    data={  # a form body: httpx URL-encodes the values
        "userId": os.environ["REGENKEY_USER_ID"],
        "password": os.environ["REGENKEY_PASSWORD"],
        "format": "json",
    },
    timeout=30,
)
body = response.json()  # errors come back as HTTP 200 too: read "status"
if body["status"] != "success":
    raise SystemExit(f"refused: {body['statusCode']} {body['reason']}")
print(body["apiKey"])
"""

PHP = """\
<?php
$curl = curl_init(getenv("REGENKEY_BASE_URL") . "/SMSApi/rest/regenerateAPIKey");
curl_setopt_array($curl, [
    CURLOPT_RETURNTRANSFER => true,
    CURLOPT_TIMEOUT => 30,
    CURLOPT_POST => true,
    // http_build_query URL-encodes the password
    CURLOPT_POSTFIELDS => http_build_query([
        "userId" => getenv("REGENKEY_USER_ID"),
        "password" => getenv("REGENKEY_PASSWORD"),
        "format" => "json",
    ]),
]);
$response = curl_exec($curl);
if ($response === false) {
    fwrite(STDERR, "cURL error: " . curl_error($curl) . "\\n");
    exit(1);
}
curl_close($curl);
$body = json_decode($response, true);
if ($body["status"] !== "success") {
    fwrite(STDERR, "refused: {$body['statusCode']} {$body['reason']}\\n");
    exit(1);
}
echo $body["apiKey"], "\\n";
"""

NODE = """\
// Node.js 18 or later (global fetch)
const body = new URLSearchParams({
  userId: process.env.REGENKEY_USER_ID,
  password: process.env.REGENKEY_PASSWORD, // URLSearchParams encodes it
  format: "json",
});

fetch(process.env.REGENKEY_BASE_URL + "/SMSApi/rest/regenerateAPIKey", {
  method: "POST",
  body,
})
  .then((response) => response.json())
  .then((data) => {
    if (data.status !== "success") {
      console.error(`refused: ${data.statusCode} ${data.reason}`);
      process.exit(1);
    }
    console.log(data.apiKey);
  });
"""

JAVA = """\
// Java 11 or later: java RegenerateApiKey.java
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;

public class RegenerateApiKey {
    public static void main(String[] args) throws Exception {
        String form = "userId=" + encode(System.getenv("REGENKEY_USER_ID"))
                + "&password=" + encode(System.getenv("REGENKEY_PASSWORD"))
                + "&format=json";
        String url = System.getenv("REGENKEY_BASE_URL") + "/SMSApi/rest/regenerateAPIKey";
        HttpRequest request = HttpRequest.newBuilder()
                .uri(URI.create(url))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form))
                .build();
        HttpResponse<String> response = HttpClient.newHttpClient()
                .send(request, HttpResponse.BodyHandlers.ofString());
        System.out.println(response.body()); // judge it by "status", not the HTTP status
    }

    private static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }
}
"""

SAMPLES: tuple[Sample, ...] = (
    Sample(
        "curl-credentials",
        "curl: userId and password in a form body",
        "sh",
        CURL_CREDENTIALS,
        ("sh", "{file}"),
        ".sh",
        Format.JSON,
        "body",
        "credentials",
    ),
    Sample(
        "curl-api-key",
        "curl: the current key in the apiKey header",
        "sh",
        CURL_API_KEY,
        ("sh", "{file}"),
        ".sh",
        Format.PLAIN,
        "body",
        "key",
    ),
    Sample(
        "curl-get",
        "curl: GET with the key in the header",
        "sh",
        CURL_GET,
        ("sh", "{file}"),
        ".sh",
        Format.XML,
        "body",
        "key",
    ),
    Sample(
        "python-client",
        "Python: the reference client",
        "python",
        PYTHON_CLIENT,
        ("{python}", "{file}"),
        ".py",
        Format.JSON,
        "key",
        "credentials",
    ),
    Sample(
        "python-httpx",
        "Python: plain httpx",
        "python",
        PYTHON_HTTPX,
        ("{python}", "{file}"),
        ".py",
        Format.JSON,
        "key",
        "credentials",
    ),
    Sample(
        "php", "PHP: cURL", "php", PHP, ("php", "{file}"), ".php", Format.JSON, "key", "credentials"
    ),
    Sample(
        "node",
        "Node.js: fetch",
        "javascript",
        NODE,
        ("node", "{file}"),
        ".js",
        Format.JSON,
        "key",
        "credentials",
    ),
    Sample(
        "java",
        "Java: java.net.http",
        "java",
        JAVA,
        ("java", "{file}"),
        ".java",
        Format.JSON,
        "body",
        "credentials",
    ),
)


def sample(name: str) -> Sample:
    return next(s for s in SAMPLES if s.name == name)
