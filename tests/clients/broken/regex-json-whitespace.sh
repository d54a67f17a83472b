#!/usr/bin/env bash
# regenkey-expect: RK-CLI-003
# regenkey-fault: JSON read by a regex that wants '": "' exactly (values copied with their escapes): compact JSON loses every field
# regenkey-flags: --formats json
# bash+curl in adapter mode: prints the record it parsed as one JSON object.
shopt -s extglob
url="$REGENKEY_BASE_URL/SMSApi/rest/regenerateAPIKey"
if [ -n "$REGENKEY_API_KEY" ]; then
  body=$(curl -sS -m 3 -H "apiKey: $REGENKEY_API_KEY" --data-urlencode "format=json" "$url")
else
  body=$(curl -sS -m 3 --data-urlencode "userId=$REGENKEY_USER_ID" \
    --data-urlencode "password=$REGENKEY_PASSWORD" --data-urlencode "format=json" "$url")
fi || exit 1
body=${body//$'\n'/ }
body=${body//$'\r'/ }
record="" sep=""
for name in status apiKey statusCode reason; do
  # A JSON string, escapes and all, copied as it is: right for any \" \\ or \u in a value.
  value=$(printf '%s' "$body" |
    sed -n -E 's/.*"'"$name"'": "(([^"\\]|\\.)*)".*/\1/p')
  [ -n "$value" ] && record+="$sep\"$name\": \"$value\"" sep=", "
done
[[ $record == *'"status": "'@(success|error)'"'* ]] || { echo "no status in the answer" >&2; exit 1; }
printf '{%s}\n' "$record"
