#!/usr/bin/env bash
# regenkey-expect: RK-PARAM-003
# regenkey-fault: the <Account> body escapes "&" in values and nothing else ("<" makes it ill-formed)
# regenkey-flags: --raw
# bash+curl, --raw: prints the body it got. Correct in all else (a timeout, no retry).
url="$REGENKEY_BASE_URL/SMSApi/rest/regenerateAPIKey"
esc() { local v=${1//&/\&amp;}; printf '%s' "$v"; }  # the fault: < > " ' left as they are
body='<?xml version="1.0" encoding="UTF-8"?><Account>'
headers=(-H "Content-Type: application/xml")
if [ -n "$REGENKEY_API_KEY" ]; then
  headers+=(-H "apiKey: $REGENKEY_API_KEY")
else
  body+="<userId>$(esc "$REGENKEY_USER_ID")</userId><password>$(esc "$REGENKEY_PASSWORD")</password>"
fi
body+="<format>$REGENKEY_FORMAT</format></Account>"
exec curl -sS -m 3 "${headers[@]}" --data-binary "$body" "$url"
