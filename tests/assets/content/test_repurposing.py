"""Leo as an asset: new blog posts become DRAFT content once; the sensor fires on new or edited posts."""

import dagster as dg
from sqlalchemy import func, select

from assets.resources import CampaignsResource
from assets.content.repurposing import new_blog_posts_sensor, repurposed_drafts
from campaigns.demo.blog_posts import POSTS
from campaigns.core.enums import ContentStatus
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import RepurposedContent


def _drafts(url: str) -> tuple[int, int, set]:
    with session_scope(url) as s:
        total = s.scalar(select(func.count()).select_from(RepurposedContent))
        sources = s.scalar(select(func.count(func.distinct(RepurposedContent.source_hash))))
        statuses = set(s.scalars(select(RepurposedContent.status).distinct()))
    return total, sources, statuses


def test_new_posts_are_repurposed_once_and_edits_give_new_drafts(home) -> None:
    settings = get_settings()
    migrate(settings.store_url)
    with session_scope(settings.store_url) as s:
        ensure_merchant(s, settings.default_merchant)
    resource = CampaignsResource(home=str(home))
    with dg.build_sensor_context(resources={"campaigns": resource}) as context:
        first = new_blog_posts_sensor(context)  # no folder yet: nothing to do, but the cursor records the empty state
    settings.blog_dir.mkdir(parents=True)
    name, text = next(iter(POSTS.items()))
    (settings.blog_dir / name).write_text(text, encoding="utf-8")
    (settings.blog_dir / "broken.md").write_bytes(b"")  # an empty post is reported, the rest still run
    with dg.build_sensor_context(resources={"campaigns": resource}, cursor=context.cursor) as context2:
        assert isinstance(new_blog_posts_sensor(context2), dg.RunRequest)
    assert isinstance(first, (dg.SkipReason, dg.RunRequest))

    result = dg.materialize([repurposed_drafts], resources={"campaigns": resource})
    assert result.success
    meta = result.asset_materializations_for_node("content__repurposed_drafts")[0].metadata
    assert meta["new_posts"].value == 1 and meta["problems"].value == 1
    total, sources, statuses = _drafts(settings.store_url)
    assert sources == 1 and total == meta["drafts_saved"].value == 18  # 6 formats x 3 variations
    assert statuses == {ContentStatus.DRAFT}

    assert dg.materialize([repurposed_drafts], resources={"campaigns": resource}).success
    assert _drafts(settings.store_url)[0] == total  # nothing new: no duplicates
    (settings.blog_dir / name).write_text(text + "\nOne more paragraph about warm socks.\n", encoding="utf-8")
    assert dg.materialize([repurposed_drafts], resources={"campaigns": resource}).success
    assert _drafts(settings.store_url)[1] == 2  # the edited post is a new source
