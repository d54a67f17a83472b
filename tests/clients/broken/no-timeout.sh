#!/usr/bin/env bash
# regenkey-expect: RK-CLI-006
# regenkey-fault: no timeout at all: waits on a stalled answer for as long as it takes
# regenkey-flags: --raw
# bash+curl, --raw: prints the body it got; correct in all but the fault.
url="$REGENKEY_BASE_URL/SMSApi/rest/regenerateAPIKey"
options=()  # the fault: no -m (--max-time)
if [ -n "$REGENKEY_API_KEY" ]; then
  exec curl -sS "${options[@]}" -H "apiKey: $REGENKEY_API_KEY" \
    --data-urlencode "format=$REGENKEY_FORMAT" "$url"
fi
exec curl -sS "${options[@]}" --data-urlencode "userId=$REGENKEY_USER_ID" \
  --data-urlencode "password=$REGENKEY_PASSWORD" --data-urlencode "format=$REGENKEY_FORMAT" "$url"
