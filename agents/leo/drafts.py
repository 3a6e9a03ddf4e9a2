"""Drafts: what an engine writes before the format optimizer fits it to the platform.

These models are also the input schemas of the tools the live engine forces the model to
call, so both engines hand the optimizer the same shapes. Drafts carry no links: the
tracked link is added by the optimizer, never written by a model.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from agents.gateway import ToolSpec

ANGLES = ("benefit", "stat", "question", "how-to", "takeaways", "quote", "story")
ANGLE_HINTS = {
    "question": "open with a question the post answers",
    "benefit": "lead with the post's main claim or most concrete benefit",
    "stat": "lead with the strongest figure the post states",
    "how-to": "show the steps or parts the post walks through",
    "story": "start where the post starts and end where it lands",
    "takeaways": "list the key points",
    "quote": "quote the post's most striking sentence",
}


class _Draft(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    angle: str = Field(description=f"One of: {', '.join(ANGLES)}")
    source_sentence_ids: list[str] = Field(default_factory=list, description="Ids (s1, s2, ...) of the post's sentences this variant draws on")


class SocialDraft(_Draft):
    text: str = Field(min_length=1, description="The post, without links and without hashtags")
    hashtags: list[str] = Field(default_factory=list, description="Hashtags without '#', words from the post")
    thread: list[str] = Field(default_factory=list, description="X only: a thread of 2 to 5 posts, without links")
    alt_text: str = Field(default="", description="Instagram only: alt text of the image, at most 100 characters")
    image_brief: str = Field(default="", description="Instagram only: a brief for the designer of the image")


class EmailDraft(_Draft):
    subject: str = Field(min_length=1, description="At most 78 characters")
    preview_text: str = Field(min_length=1, description="Inbox preview, at most 150 characters")
    paragraphs: list[str] = Field(min_length=1, description="Body paragraphs, plain text, no links")
    bullets: list[str] = Field(default_factory=list, description="Optional bullet points, plain text")
    cta_label: str = Field(min_length=1, description="Text of the call-to-action button, a few words")


class AdsDraft(_Draft):
    headlines: list[str] = Field(min_length=3, description="3 to 15 Google responsive search ad headlines, each at most 30 characters")
    descriptions: list[str] = Field(min_length=2, description="2 to 4 descriptions, each at most 90 characters")
    primary_text: str = Field(min_length=1, description="Meta ads primary text, at most 125 characters")


class SocialDrafts(BaseModel):
    variants: list[SocialDraft] = Field(min_length=1)


class EmailDrafts(BaseModel):
    variants: list[EmailDraft] = Field(min_length=1)


class AdsDrafts(BaseModel):
    variants: list[AdsDraft] = Field(min_length=1)


Draft = SocialDraft | EmailDraft | AdsDraft

TOOLS: dict[str, ToolSpec] = {
    "x": ToolSpec("write_x_posts", "Variants of a post for X (Twitter), each with an optional thread.", SocialDrafts),
    "linkedin": ToolSpec("write_linkedin_posts", "Variants of a LinkedIn post.", SocialDrafts),
    "facebook": ToolSpec("write_facebook_posts", "Variants of a Facebook page post.", SocialDrafts),
    "instagram": ToolSpec("write_instagram_posts", "Variants of an Instagram caption with alt text and an image brief.", SocialDrafts),
    "email": ToolSpec("write_emails", "Variants of a newsletter email promoting the post.", EmailDrafts),
    "ads": ToolSpec("write_ads", "Variants of a Google responsive search ad and a Meta ad primary text.", AdsDrafts),
}
ALL_TOOLS = tuple(TOOLS[name] for name in sorted(TOOLS))
