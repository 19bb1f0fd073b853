"""The translation catalogs: every marked string translated into Korean, the committed
`.pot` and `.mo` files up to date with the source and the `.po` files (scripts/i18n.sh
makes them), translations keeping their placeholders; locale names and Accept-Language."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest

from fallwatch.i18n import (
    DOMAIN,
    JS_DOMAIN,
    LOCALE_DIR,
    env_locale,
    js_messages,
    normalise_locale,
    parse_accept_language,
    translations,
)

babel_extract = pytest.importorskip("babel.messages.extract", reason="Babel (the dev extra)")
pofile = pytest.importorskip("babel.messages.pofile")
frontend = pytest.importorskip("babel.messages.frontend")

PACKAGE = LOCALE_DIR.parent
FIX = "run scripts/i18n.sh, translate the new entries in the ko .po files, run it again"
CONFIG = {DOMAIN: ("babel.cfg", None), JS_DOMAIN: ("babel-js.cfg", {"t": None})}


def extracted(domain: str) -> set[str]:
    """The msgids in the source now, as scripts/i18n.sh extracts them."""
    cfg, keywords = CONFIG[domain]
    with (LOCALE_DIR / cfg).open(encoding="utf-8") as f:
        method_map, options_map = frontend.parse_mapping_cfg(f)
    found = babel_extract.extract_from_dir(
        str(PACKAGE),
        method_map,
        options_map,
        keywords=keywords or babel_extract.DEFAULT_KEYWORDS,
    )
    ids = set()
    for _filename, _lineno, message, _comments, _context in found:
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def read_catalog(path: Path) -> object:
    with path.open("rb") as f:
        return pofile.read_po(f)


def po_messages(domain: str, lang: str = "ko") -> dict[str, object]:
    catalog = read_catalog(LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po")
    return {_singular(m.id): m for m in catalog if m.id}  # type: ignore[attr-defined]


def _singular(msgid: str | tuple[str, ...]) -> str:
    # A plural entry's id is (singular, plural); its string one form per plural form.
    return msgid if isinstance(msgid, str) else msgid[0]


def _forms(msgstr: str | tuple[str, ...]) -> tuple[str, ...]:
    return (msgstr,) if isinstance(msgstr, str) else tuple(msgstr)


@pytest.mark.parametrize("domain", [DOMAIN, JS_DOMAIN])
def test_every_marked_string_has_a_korean_translation(domain: str) -> None:
    source = extracted(domain)
    assert source, "nothing extracted: the extraction map is wrong"
    pot = {_singular(m.id) for m in read_catalog(LOCALE_DIR / f"{domain}.pot") if m.id}  # type: ignore[attr-defined]
    assert sorted(source - pot) == [], f"{domain}.pot misses strings: {FIX}"
    po = po_messages(domain)
    missing = sorted(
        i
        for i in source
        if i not in po or not all(_forms(po[i].string)) or po[i].fuzzy  # type: ignore[attr-defined]
    )
    assert missing == [], f"untranslated in ko/{domain}.po: {FIX}"


@pytest.mark.parametrize("domain", [DOMAIN, JS_DOMAIN])
def test_the_committed_mo_is_the_compiled_po(domain: str) -> None:
    with (LOCALE_DIR / "ko" / "LC_MESSAGES" / f"{domain}.mo").open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    mo = {k: v for k, v in compiled._catalog.items() if k}  # type: ignore[attr-defined]
    po: dict[object, str] = {}
    for i, m in po_messages(domain).items():
        if not m.string or m.fuzzy:  # type: ignore[attr-defined]
            continue
        if isinstance(m.string, str):  # type: ignore[attr-defined]
            po[i] = m.string  # type: ignore[attr-defined]
        else:
            po.update({(i, n): form for n, form in enumerate(m.string)})  # type: ignore[attr-defined]
    assert mo == po, f"ko/{domain}.mo is older than its .po: {FIX}"


PLACEHOLDER = re.compile(r"\{[^{}]*\}|%\([a-z_]+\)[sd]")


@pytest.mark.parametrize("domain", [DOMAIN, JS_DOMAIN])
def test_translations_keep_the_placeholders(domain: str) -> None:
    wrong = [
        (i, m.string)  # type: ignore[attr-defined]
        for i, m in po_messages(domain).items()
        for form in _forms(m.string)  # type: ignore[attr-defined]
        if sorted(PLACEHOLDER.findall(i)) != sorted(PLACEHOLDER.findall(form))
    ]
    assert wrong == []


def test_korean_and_english_catalogs() -> None:
    assert translations("ko").gettext("Open alarms") == "미확인 경보"
    assert translations("ko_KR.UTF-8").gettext("PERSON DOWN") == "쓰러진 사람 발생"
    assert translations("en").gettext("Open alarms") == "Open alarms"
    assert translations("fr").gettext("Open alarms") == "Open alarms"
    assert js_messages("ko")["PERSON DOWN"] == "쓰러진 사람 발생"
    assert "Open alarms" not in js_messages("ko")  # template text stays in the page
    assert js_messages("en") == {}


@pytest.mark.parametrize(
    ("tag", "locale"),
    [
        ("ko", "ko"),
        ("ko_KR.UTF-8", "ko"),
        ("ko-KR", "ko"),
        ("KO", "ko"),
        ("en_US.UTF-8", "en"),
        ("C", None),
        ("POSIX", None),
        ("C.UTF-8", None),
        ("fr_FR", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise_locale(tag: str | None, locale: str | None) -> None:
    assert normalise_locale(tag) == locale


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", "ko"),
        ("en-US,en;q=0.9,ko;q=0.8", "en"),
        ("fr, ko;q=0.5", "ko"),
        ("en;q=0.2, ko;q=0.7", "ko"),
        ("ko;q=0, en;q=0.1", "en"),
        ("fr, de", None),
        ("ko;q=abc", "ko"),
        ("", None),
        (None, None),
    ],
)
def test_parse_accept_language(header: str | None, locale: str | None) -> None:
    assert parse_accept_language(header) == locale


@pytest.mark.parametrize(
    ("env", "locale"),
    [
        ({"LANG": "ko_KR.UTF-8"}, "ko"),
        ({"LANG": "ko_KR.UTF-8", "LC_ALL": "C"}, "en"),
        ({"LANG": "C", "LC_MESSAGES": "ko_KR.UTF-8"}, "ko"),
        ({"LANG": "ko_KR.UTF-8", "FALLWATCH_LANG": "en"}, "en"),
        ({"FALLWATCH_LANG": "ko"}, "ko"),
        ({}, "en"),
    ],
)
def test_env_locale(env: dict[str, str], locale: str) -> None:
    assert env_locale(env) == locale
