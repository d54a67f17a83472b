#!/usr/bin/env bash
# regenkey-expect: RK-CLI-003
# regenkey-fault: XML read by the regex <(\w+)>([^<]*)</\1>, decoding &lt; &gt; &amp; only (CDATA, &#..; and &quot; break it)
# regenkey-flags: --formats xml
# bash+curl in adapter mode: prints the record it parsed as one JSON object.
shopt -s extglob
url="$REGENKEY_BASE_URL/SMSApi/rest/regenerateAPIKey"
if [ -n "$REGENKEY_API_KEY" ]; then
  body=$(curl -sS -m 3 -H "apiKey: $REGENKEY_API_KEY" --data-urlencode "format=xml" "$url")
else
  body=$(curl -sS -m 3 --data-urlencode "userId=$REGENKEY_USER_ID" \
    --data-urlencode "password=$REGENKEY_PASSWORD" --data-urlencode "format=xml" "$url")
fi || exit 1
json() { local v=${1//\\/\\\\}; v=${v//\"/\\\"}; printf '"%s"' "${v//$'\t'/\\t}"; }
body=${body//$'\n'/ }
record="" sep=""
for name in status apiKey statusCode reason; do
  value=$(printf '%s' "$body" | sed -n -E "s/.*<$name>([^<]*)<\/$name>.*/\1/p" |
    sed -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&amp;/\&/g')
  [ -n "$value" ] && record+="$sep\"$name\": $(json "$value")" sep=", "
done
[[ $record == *'"status": "'@(success|error)'"'* ]] || { echo "no status in the answer" >&2; exit 1; }
printf '{%s}\n' "$record"
