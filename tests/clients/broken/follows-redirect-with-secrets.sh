#!/usr/bin/env bash
# regenkey-expect: RK-CLI-007
# regenkey-fault: follows a redirect to another origin, re-sending the apiKey header or (307) the form body
# regenkey-flags: --raw
# bash+curl, --raw: prints the body it got; correct in all but the fault.
url="$REGENKEY_BASE_URL/SMSApi/rest/regenerateAPIKey"
options=(-m 3 -L)  # the fault: -L follows any Location, custom headers and all
if [ -n "$REGENKEY_API_KEY" ]; then
  exec curl -sS "${options[@]}" -H "apiKey: $REGENKEY_API_KEY" \
    --data-urlencode "format=$REGENKEY_FORMAT" "$url"
fi
exec curl -sS "${options[@]}" --data-urlencode "userId=$REGENKEY_USER_ID" \
  --data-urlencode "password=$REGENKEY_PASSWORD" --data-urlencode "format=$REGENKEY_FORMAT" "$url"
