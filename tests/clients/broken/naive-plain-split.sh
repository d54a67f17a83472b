#!/usr/bin/env bash
# regenkey-expect: RK-CLI-001
# regenkey-fault: plain read as fields split on "|", each split on every "=": a reason holding "=" is cut
# regenkey-flags: --formats plain
# bash+curl in adapter mode: prints the record it parsed as one JSON object.
export LC_ALL=C
shopt -s extglob
url="$REGENKEY_BASE_URL/SMSApi/rest/regenerateAPIKey"
if [ -n "$REGENKEY_API_KEY" ]; then
  body=$(curl -sS -m 3 -H "apiKey: $REGENKEY_API_KEY" --data-urlencode "format=plain" "$url")
else
  body=$(curl -sS -m 3 --data-urlencode "userId=$REGENKEY_USER_ID" \
    --data-urlencode "password=$REGENKEY_PASSWORD" --data-urlencode "format=plain" "$url")
fi || exit 1
trim() { local v=$1; v=${v#"${v%%[![:space:]]*}"}; printf '%s' "${v%"${v##*[![:space:]]}"}"; }
json() { local v=${1//\\/\\\\}; v=${v//\"/\\\"}; printf '"%s"' "${v//$'\t'/\\t}"; }
record="" sep=""
IFS='|' read -r -a fields <<< "$body"
for field in "${fields[@]}"; do
  IFS='=' read -r -a parts <<< "$field"  # the fault: a value holding "=" loses its rest
  record+="$sep$(json "$(trim "${parts[0]}")"): $(json "$(trim "${parts[1]}")")" sep=", "
done
[[ $record == *'"status": "'@(success|error)'"'* ]] || { echo "no status in the answer" >&2; exit 1; }
printf '{%s}\n' "$record"
