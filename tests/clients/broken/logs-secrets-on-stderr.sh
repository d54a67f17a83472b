#!/usr/bin/env bash
# regenkey-expect: RK-CLI-008
# regenkey-fault: traces the request to stderr: the apiKey header and the form body with the password
# regenkey-flags: --raw
# bash+curl, --raw: prints the body it got; correct in all but the fault.
url="$REGENKEY_BASE_URL/SMSApi/rest/regenerateAPIKey"
options=(-m 3 --trace-ascii /dev/stderr)  # the fault: a trace of every byte sent
if [ -n "$REGENKEY_API_KEY" ]; then
  exec curl -sS "${options[@]}" -H "apiKey: $REGENKEY_API_KEY" \
    --data-urlencode "format=$REGENKEY_FORMAT" "$url"
fi
exec curl -sS "${options[@]}" --data-urlencode "userId=$REGENKEY_USER_ID" \
  --data-urlencode "password=$REGENKEY_PASSWORD" --data-urlencode "format=$REGENKEY_FORMAT" "$url"
