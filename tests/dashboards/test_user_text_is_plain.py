"""User text renders as text in the app: a campaign name or description holding a Markdown image never makes the browser fetch it."""

from __future__ import annotations

import re

from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.lifecycle import service as campaign_service
from dashboards import queries
from dashboards.formatting import plain
from tests.dashboards.helpers import PAGES, assert_clean

PIXEL = "![pixel](http://127.0.0.1:9/track.png)"
NAME = f"Spring {PIXEL} [/] :red[loud] $x$"
DESCRIPTION = f"Read <b>this</b> {PIXEL.replace('track', 'desc')} # not a heading"
# an image, link or colour directive that Markdown would act on: not preceded by the escaping backslash
ACTIVE = re.compile(r"(?<!\\)!\[|(?<!\\)\]\(|(?<!\\):red\[")


def _rendered_texts(at) -> list[str]:
    elements = [*at.markdown, *at.caption, *at.info, *at.warning, *at.success, *at.error]
    return [str(e.value) for e in elements]


def test_plain_escapes_every_markdown_construct() -> None:
    assert plain(PIXEL) == r"!\[pixel\](http://127.0.0.1:9/track.png)"  # no image without its brackets
    assert plain("_a_ *b* `c` # d $e$ <http://f> ~~g~~ | h") == r"\_a\_ \*b\* \`c\` \# d \$e\$ \<http://f\> \~\~g\~\~ \| h"
    assert plain("- item\n1. first") == "\\- item  \n1\\. first"  # no list either
    assert plain("a\nb") == "a  \nb"  # line breaks stay line breaks
    assert plain("Winter sale 2026") == "Winter sale 2026"  # ordinary names are unchanged


def test_campaign_name_and_description_render_as_text(home, app) -> None:
    settings = get_settings()
    migrate(settings.store_url)
    with session_scope(settings.store_url) as s:
        ensure_merchant(s, "acme", "Acme")
        campaign_service.create_campaign(
            s, "acme", campaign_service.CampaignInput(name=NAME, type="AWARENESS", channels=["email"], description=DESCRIPTION), actor="test")
    queries.clear_store_caches()
    at = app(settings)
    at.switch_page(PAGES["Campaigns"]).run()
    assert_clean(at)
    texts = _rendered_texts(at)
    assert any(plain(NAME) in t for t in texts), texts  # the name is shown, escaped
    assert any(plain(DESCRIPTION) in t for t in texts), texts
    active = [t for t in texts if ACTIVE.search(t)]
    assert not active, active  # nothing the browser would fetch or render as a link, image or colour
