#!/bin/sh
# bash+curl as a client of the adapter contract in --raw mode, sending the
# page's <Account> body as .NET's XmlWriter writes it: a UTF-8 byte-order
# mark first, then the declaration. Values are XML-escaped; the key (when
# given) goes in the apiKey header beside an <Account> holding only format.
url="$REGENKEY_BASE_URL/SMSApi/rest/regenerateAPIKey"
esc() { printf '%s' "$1" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' \
  -e 's/"/\&quot;/g' -e "s/'/\&apos;/g"; }
{
  printf '\357\273\277<?xml version="1.0" encoding="utf-8"?><Account>'
  if [ -z "$REGENKEY_API_KEY" ]; then
    printf '<userId>%s</userId><password>%s</password>' \
      "$(esc "$REGENKEY_USER_ID")" "$(esc "$REGENKEY_PASSWORD")"
  fi
  printf '<format>%s</format></Account>' "$REGENKEY_FORMAT"
} > "${TMPDIR:-/tmp}/regenkey-account.$$"
if [ -n "$REGENKEY_API_KEY" ]; then
  set -- -H "apiKey: $REGENKEY_API_KEY"
fi
curl -sS "$@" -H "Content-Type: application/xml; charset=utf-8" \
  --data-binary "@${TMPDIR:-/tmp}/regenkey-account.$$" "$url"
code=$?
rm -f "${TMPDIR:-/tmp}/regenkey-account.$$"
exit $code
