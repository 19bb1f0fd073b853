#!/usr/bin/env bash
# The translation catalogs in one command: extract the marked text (Python and templates:
# _(), gettext(), ngettext(); page scripts: t()) into fallwatch/locales/*.pot, merge it
# into each language's .po, and compile the .mo files that Fallwatch reads.
#
# After changing text shown to people: run this, translate the new entries (empty msgstr
# or marked "fuzzy") in fallwatch/locales/ko/LC_MESSAGES/*.po, run it again, commit the
# .pot, .po and .mo files. tests/test_i18n.py fails while a string is untranslated.
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL="${PYBABEL:-$(dirname "${PYTHON:-.venv/bin/python}")/pybabel}"
L=fallwatch/locales
LANGS="ko"

for domain in fallwatch fallwatch_js; do
  if [ "$domain" = fallwatch_js ]; then
    args=(-F "$L/babel-js.cfg" --no-default-keywords -k t)
  else
    args=(-F "$L/babel.cfg")
  fi
  # No line numbers, sorted, and the old file kept when only its date would change: a
  # .pot that changes only when the text does.
  new="$(mktemp)"
  "$PYBABEL" -q extract "${args[@]}" --no-location --sort-output \
    --project=Fallwatch --copyright-holder="Fallwatch contributors" \
    -o "$new" fallwatch
  if [ -f "$L/$domain.pot" ] && cmp -s <(grep -v '^"POT-Creation-Date:' "$new") \
      <(grep -v '^"POT-Creation-Date:' "$L/$domain.pot"); then
    rm -f "$new"
  else
    mv "$new" "$L/$domain.pot"
    chmod 644 "$L/$domain.pot"
  fi
  for lang in $LANGS; do
    "$PYBABEL" -q update -D "$domain" -l "$lang" -i "$L/$domain.pot" -d "$L" \
      --ignore-pot-creation-date --init-missing
  done
  "$PYBABEL" -q compile -D "$domain" -d "$L" --statistics
done
