#!/bin/sh
# Correct but unusual clients of the adapter contract in --raw mode (issue 16),
# bash+curl: `sh curl_unusual.sh MODE`. Each MODE is legal HTTP and a legal
# request to the endpoint, so check-client must pass it (a SHOULD it bends
# may be NON-STRICT, never FAIL). curl URL-encodes every form value.
mode=$1
url="$REGENKEY_BASE_URL/SMSApi/rest/regenerateAPIKey"
fmt=$REGENKEY_FORMAT
key_header=apiKey
fields="userId password format"
set --
case "$mode" in
  http10) set -- --http1.0 -H "Connection: close" ;;
  expect-continue) set -- -H "Expect: 100-continue" --expect100-timeout 5 ;;
  compressed) set -- --compressed ;;
  upper-format) fmt=$(printf '%s' "$fmt" | tr a-z A-Z) ;;
  upper-header) key_header=APIKEY ;;
  chunked) set -- -H "Transfer-Encoding: chunked" ;;
  media-params) set -- -H "Content-Type: Application/X-WWW-Form-URLEncoded ; charset=\"UTF-8\"" ;;
  any-order) fields="format password userId" ;;
  post-query) set -- -G -X POST ;;  # -G puts the fields in the query; the method stays POST
  multipart) ;;
  *) echo "unknown mode: $mode" >&2; exit 64 ;;
esac
[ -n "$REGENKEY_API_KEY" ] && set -- "$@" -H "$key_header: $REGENKEY_API_KEY"
if [ "$mode" = multipart ]; then  # as the vendor's PHP class: every field, empty beside a key
  user=$REGENKEY_USER_ID password=$REGENKEY_PASSWORD
  [ -n "$REGENKEY_API_KEY" ] && user="" password=""
  exec curl -sS -m "${REGENKEY_CLIENT_TIMEOUT:-5}" "$@" --form-string "userId=$user" --form-string "password=$password" \
    --form-string "format=$fmt" "$url"
fi
for field in $fields; do
  case "$field" in
    userId) [ -z "$REGENKEY_API_KEY" ] && set -- "$@" --data-urlencode "userId=$REGENKEY_USER_ID" ;;
    password) [ -z "$REGENKEY_API_KEY" ] && set -- "$@" --data-urlencode "password=$REGENKEY_PASSWORD" ;;
    format) set -- "$@" --data-urlencode "format=$fmt" ;;
  esac
done
exec curl -sS -m "${REGENKEY_CLIENT_TIMEOUT:-5}" "$@" "$url"
