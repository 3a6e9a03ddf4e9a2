"""Repurpose new blog posts (CAMPAIGNS_HOME/blog) into DRAFT content that waits for approval.

A post is new when no repurposed content exists for its source hash, so re-runs and edits of
unrelated posts never duplicate drafts; editing a post changes its hash and gives new drafts.
The offline engine is used unless ANTHROPIC_API_KEY is set (see agents/).
"""

import hashlib
import time
from pathlib import Path

import dagster as dg
from sqlalchemy import select

from agents.leo.repurpose import repurpose
from agents.leo.store import save_result
from agents.source import read_post
from agents.usage import persist
from assets.resources import CampaignsResource
from campaigns.core.merchants import require_merchant
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import RepurposedContent

BLOG_PATTERNS = ("*.md", "*.markdown", "*.html", "*.htm", "*.txt")
REPURPOSED_KEY = dg.AssetKey(["content", "repurposed_drafts"])


def blog_posts(folder: Path) -> list[Path]:
    return sorted(p for pattern in BLOG_PATTERNS for p in folder.glob(pattern)) if folder.exists() else []


def blog_fingerprint(folder: Path) -> str:
    """Changes whenever a post is added, removed or edited: the sensor's cursor."""
    digest = hashlib.sha256()
    for path in blog_posts(folder):
        stat = path.stat()
        digest.update(f"{path.name}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


@dg.asset(
    key=REPURPOSED_KEY,
    group_name="content",
    kinds={"python", "anthropic"},
    description="Leo: every new blog post repurposed into x, linkedin, facebook, instagram, email and ads drafts (3 variations each), waiting for approval.",
)
def repurposed_drafts(context: dg.AssetExecutionContext, campaigns: CampaignsResource) -> dg.MaterializeResult:

    settings = campaigns.settings()
    campaigns.store_url()  # the schema, checked once per process
    merchant = settings.default_merchant
    started = time.perf_counter()
    seen, new, drafts, problems = 0, 0, 0, []
    for path in blog_posts(settings.blog_dir):
        seen += 1
        try:
            source = read_post(path)
        except ValueError as exc:  # an unreadable post is reported, the others still run
            problems.append(f"{path.name}: {exc}")
            continue
        with session_scope(settings.store_url) as session:
            require_merchant(session, merchant)
            done = session.scalar(select(RepurposedContent.id).where(
                RepurposedContent.merchant_id == merchant, RepurposedContent.source_hash == source.source_hash).limit(1))
            if done is not None:
                continue
            result = repurpose(source)
            drafts += len(save_result(session, merchant, result, actor="leo"))
            # a live model's tokens and cost land with the drafts they paid for (nothing for the offline engine)
            persist(session, merchant, result.usage, actor="leo", purpose="repurpose", entity_id=source.source_hash[:16])
            new += 1
            context.log.info(f"repurposed {path.name} with the {result.engine} engine")
    for problem in problems:
        context.log.warning(problem)
    return dg.MaterializeResult(metadata={
        "posts": seen, "new_posts": new, "drafts_saved": drafts, "problems": len(problems),
        "seconds": round(time.perf_counter() - started, 3),
    })


@dg.sensor(target=[repurposed_drafts], minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Runs Leo when a blog post is added or edited under CAMPAIGNS_HOME/blog.")
def new_blog_posts_sensor(context: dg.SensorEvaluationContext, campaigns: CampaignsResource):
    fingerprint = blog_fingerprint(campaigns.settings().blog_dir)
    if fingerprint == context.cursor:
        return dg.SkipReason("no new or edited blog post")
    context.update_cursor(fingerprint)
    return dg.RunRequest(run_key=f"blog-{fingerprint}")
