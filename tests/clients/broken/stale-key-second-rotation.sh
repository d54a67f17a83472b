#!/usr/bin/env bash
# regenkey-expect: RK-CLI-002
# regenkey-fault: asked to rotate twice, prints the record of the first rotation
# regenkey-flags: --formats plain
# bash+curl in adapter mode: prints the record it parsed as one JSON object.
export LC_ALL=C
url="$REGENKEY_BASE_URL/SMSApi/rest/regenerateAPIKey"
regenerate() {  # regenerate [KEY]: one request, the body on stdout
  if [ -n "$1" ]; then
    curl -sS -m 3 -H "apiKey: $1" --data-urlencode "format=plain" "$url"
  else
    curl -sS -m 3 --data-urlencode "userId=$REGENKEY_USER_ID" \
      --data-urlencode "password=$REGENKEY_PASSWORD" --data-urlencode "format=plain" "$url"
  fi
}
json() { local v=${1//\\/\\\\}; v=${v//\"/\\\"}; v=${v//$'\r'/\\r}; printf '"%s"' "${v//$'\t'/\\t}"; }
parse() {  # parse BODY: sets record, status, statusCode and key
  local body=${1%"${1##*[![:space:]]}"} rest field name sep=""
  record="" status="" statusCode="" key="" rest=$body
  while :; do
    field=${rest%% | *} name=${field%%=*}
    [[ $field == *=* ]] || { echo "not a plain answer" >&2; exit 1; }
    case $name in status) status=${field#*=} ;; statusCode) statusCode=${field#*=} ;; apiKey) key=${field#*=} ;; esac
    record+="$sep$(json "$name"): $(json "${field#*=}")" sep=", "
    [[ $field == "$rest" ]] && break
    rest=${rest#* | }
  done
  [[ $status == success || $status == error ]] || { echo "no status in the answer" >&2; exit 1; }
}
body=$(regenerate "$REGENKEY_API_KEY") || exit 1
parse "$body"
first=$record
if [ "${REGENKEY_ROTATIONS:-1}" -gt 1 ] && [ "$status" = success ]; then
  body=$(regenerate "$key") || exit 1  # the right key for the second rotation
  parse "$body"
fi
printf '{%s}\n' "$first"  # the fault: the first answer, not the last
