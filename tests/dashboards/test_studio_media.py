"""Content Studio shows the image Leo chose for a social draft: a thumbnail and its alt text (escaped)."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from tests.dashboards.helpers import assert_clean

STUDIO = "views/studio.py"


def test_a_draft_shows_its_chosen_image_and_alt_text(home, app, tmp_path: Path) -> None:
    from agents.leo.repurpose import repurpose
    from agents.leo.store import save_result
    from agents.settings import AgentSettings
    from agents.source import read_post
    from campaigns.core.merchants import ensure_merchant

    folder = tmp_path / "blog"
    folder.mkdir()
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), (30, 100, 60)).save(buffer, "PNG")
    (folder / "trail.png").write_bytes(buffer.getvalue())
    text = (Path(__file__).resolve().parents[1] / "agents" / "posts" / "short.md").read_text()
    (folder / "post.md").write_text(text + "\n\n![A *green* trail at dawn](trail.png)\n")
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme")
        save_result(s, "acme", repurpose(read_post(folder / "post.md"), ["x", "email"], 1, settings=AgentSettings(llm_engine="offline")),
                    actor="test")
    at = app(get_settings())
    at.switch_page(STUDIO).run()
    assert_clean(at)
    captions = [c.value for c in at.caption]
    assert any(c.startswith("Alt text: A \\*green\\* trail at dawn · the post's first image") for c in captions), captions
    assert len(at.get("image")) == 1  # one thumbnail: the x draft's; the email draft carries no image
