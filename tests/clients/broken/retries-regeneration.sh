#!/usr/bin/env bash
# regenkey-expect: RK-CLI-005
# regenkey-fault: retries a regeneration on a timeout, a dropped connection or an HTTP 5xx
# regenkey-flags: --raw
# bash+curl, --raw: prints the body it got; correct in all but the fault.
url="$REGENKEY_BASE_URL/SMSApi/rest/regenerateAPIKey"
if [ -n "$REGENKEY_API_KEY" ]; then
  set -- -H "apiKey: $REGENKEY_API_KEY" --data-urlencode "format=$REGENKEY_FORMAT"
else
  set -- --data-urlencode "userId=$REGENKEY_USER_ID" \
    --data-urlencode "password=$REGENKEY_PASSWORD" --data-urlencode "format=$REGENKEY_FORMAT"
fi
for attempt in 1 2; do  # the fault: a "failed" regeneration is sent again
  out=$(curl -sS -m 2 -w '\n%{http_code}' "$@" "$url")
  code=$?
  status=${out##*$'\n'}
  [ "$code" -ne 0 ] || [[ $status == 5* ]] || break
done
printf '%s' "${out%$'\n'*}"
exit "$code"
