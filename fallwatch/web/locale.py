"""The language of a page: the user's choice, else `web.default_locale`, else the
browser's `Accept-Language`, else English.

Templates get the request's catalog as newstyle gettext callables in their context
(`_`, `gettext`, `ngettext`), never installed on the shared Jinja environment: two
requests rendered at once in two languages must not see each other's catalog. Scripts
get their strings as JSON (`js_messages`, embedded by base.html as `#fw-messages`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from fallwatch.i18n import (
    DEFAULT_LOCALE,
    LOCALE_LABELS,
    js_messages,
    normalise_locale,
    parse_accept_language,
    translations,
)


def request_locale(request: Request) -> str:
    """The locale of this request's page (the principal dependency has run, and left
    the user's choice in `request.state.user_locale`)."""
    chosen = normalise_locale(getattr(request.state, "user_locale", None))
    if chosen:
        return chosen
    default: str | None = request.app.state.server.config.web.default_locale
    if default:
        return default
    return parse_accept_language(request.headers.get("accept-language")) or DEFAULT_LOCALE


def _newstyle_gettext(gettext: Callable[[str], str]) -> Callable[..., str]:
    # As Jinja's own newstyle gettext: the translation is autoescaped, then filled with
    # %(name)s placeholders from keyword arguments (a literal % is written %%).
    @pass_context
    def translate(context: Context, message: str, **variables: Any) -> str:
        text: str = gettext(message)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    return translate


def _newstyle_ngettext(ngettext: Callable[[str, str, int], str]) -> Callable[..., str]:
    @pass_context
    def translate(context: Context, singular: str, plural: str, num: int, **variables: Any) -> str:
        variables.setdefault("num", num)
        text: str = ngettext(singular, plural, num)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    return translate


def i18n_context(request: Request) -> dict[str, Any]:
    """Template context for the request's language (a Jinja2Templates context processor)."""
    locale = request_locale(request)
    catalog = translations(locale)
    gettext = _newstyle_gettext(catalog.gettext)
    return {
        "locale": locale,
        "locales": LOCALE_LABELS,
        "_": gettext,
        "gettext": gettext,
        "ngettext": _newstyle_ngettext(catalog.ngettext),
        "js_messages": js_messages(locale),
    }
