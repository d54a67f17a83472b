#!/usr/bin/env bash
# regenkey-expect: RK-PARAM-003
# regenkey-fault: the form body is built as name=value&... with the values not URL-encoded
# regenkey-flags: --raw
# bash+curl, --raw: prints the body it got. Correct in all else (a timeout, no retry).
url="$REGENKEY_BASE_URL/SMSApi/rest/regenerateAPIKey"
if [ -n "$REGENKEY_API_KEY" ]; then
  exec curl -sS -m 3 -H "apiKey: $REGENKEY_API_KEY" --data-urlencode "format=$REGENKEY_FORMAT" "$url"
fi
# The fault: --data-raw sends the values as they are; "&", "=", "+" and "%" in them break the form.
exec curl -sS -m 3 --data-raw \
  "userId=$REGENKEY_USER_ID&password=$REGENKEY_PASSWORD&format=$REGENKEY_FORMAT" "$url"
