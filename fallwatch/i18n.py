"""Languages: English (the source text) and Korean, from gettext catalogs.

The catalogs are `fallwatch/locales/<lang>/LC_MESSAGES/<domain>.mo`, compiled from the
`.po` files by `scripts/i18n.sh` (Babel) and committed, so a running Fallwatch needs only
the standard library's `gettext`. Two domains: `fallwatch` (Python code and page
templates) and `fallwatch_js` (the pages' scripts, sent to the browser as JSON).

Locale names here are bare language codes ('en', 'ko'); `normalise_locale` maps what
people and systems write ('ko_KR.UTF-8', 'ko-KR', 'KO') onto them.
"""

from __future__ import annotations

import gettext
import os
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal

LocaleName = Literal["en", "ko"]
"""A supported locale, for config fields."""

SUPPORTED_LOCALES: tuple[str, ...] = ("en", "ko")
DEFAULT_LOCALE = "en"
DOMAIN = "fallwatch"
JS_DOMAIN = "fallwatch_js"
LOCALE_DIR = Path(__file__).parent / "locales"

LOCALE_LABELS = {"en": "English", "ko": "한국어"}
"""Each language named in itself, for language selectors."""


def normalise_locale(tag: str | None) -> str | None:
    """The supported locale a tag names, or None: 'ko_KR.UTF-8' and 'ko-KR' -> 'ko';
    'C', 'POSIX', '' and unsupported languages -> None."""
    if not tag:
        return None
    lang = re.split(r"[-_.@]", tag.strip(), maxsplit=1)[0].lower()
    return lang if lang in SUPPORTED_LOCALES else None


@lru_cache(maxsize=8)
def translations(locale: str | None, domain: str = DOMAIN) -> gettext.NullTranslations:
    """The catalog of a locale (cached; safe to share between threads: read only).
    English, an unknown locale or a missing catalog give the source text."""
    lang = normalise_locale(locale) or DEFAULT_LOCALE
    if lang == DEFAULT_LOCALE:
        return gettext.NullTranslations()
    return gettext.translation(domain, LOCALE_DIR, languages=[lang], fallback=True)


def js_messages(locale: str | None) -> dict[str, str]:
    """The scripts' catalog of a locale as {English: translation} ({} for English)."""
    catalog: Mapping[object, str] = getattr(translations(locale, JS_DOMAIN), "_catalog", {})
    return {k: v for k, v in catalog.items() if isinstance(k, str) and k and v}


def parse_accept_language(header: str | None) -> str | None:
    """The supported locale a browser prefers most (`Accept-Language: ko-KR,ko;q=0.9,
    en;q=0.8` -> 'ko'), or None when it names none of them."""
    if not header:
        return None
    best: tuple[float, int, str] | None = None
    for position, part in enumerate(header.split(",")[:32]):
        tag, _, params = part.partition(";")
        quality = 1.0
        match = re.search(r"q\s*=\s*([0-9.]+)", params)
        if match:
            try:
                quality = float(match.group(1))
            except ValueError:
                continue
        lang = normalise_locale(tag)
        if lang is None or quality <= 0:
            continue
        # Highest quality first; between equals, the one written first.
        key = (-quality, position, lang)
        if best is None or key < best:
            best = key
    return best[2] if best else None


def env_locale(env: Mapping[str, str]) -> str:
    """The command line's locale: FALLWATCH_LANG, else the first of LC_ALL, LC_MESSAGES,
    LANG that is set (as gettext reads them), when it is a supported language."""
    wanted = env.get("FALLWATCH_LANG")
    if not wanted:
        wanted = next((env[k] for k in ("LC_ALL", "LC_MESSAGES", "LANG") if env.get(k)), None)
    return normalise_locale(wanted) or DEFAULT_LOCALE


def cli_gettext(message: str) -> str:
    """`message` in the command line's language, for CLI help and messages:
    `from fallwatch.i18n import cli_gettext as _`. The environment is read at each call (the
    catalog is cached), so a test or wrapper may set LANG after import."""
    return translations(env_locale(os.environ)).gettext(message)
