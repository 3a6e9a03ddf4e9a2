"""What Leo hands back: one `Output` per format and variant, ready for review."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# Fields each format shows; everything else on `Output` stays out of its JSON.
FORMAT_FIELDS: dict[str, tuple[str, ...]] = {
    "x": ("text", "thread", "hashtags", "media"),
    "linkedin": ("text", "hashtags", "media"),
    "facebook": ("text", "hashtags", "media"),
    "instagram": ("text", "hashtags", "alt_text", "image_brief", "media"),
    "email": ("subject", "preview_text", "html", "text"),
    "ads": ("headlines", "descriptions", "primary_text", "final_url", "meta_final_url"),
}


class SourceRef(BaseModel):
    id: str
    text: str


class MediaChoice(BaseModel):
    """The post's own image chosen for a social draft (`agents.leo.images`); fetched and stored when the draft is scheduled."""

    model_config = ConfigDict(extra="ignore")

    src: str  # an absolute http(s) URL or an absolute file path next to the post
    alt: str = Field(min_length=1)
    why: str = ""  # the rule that chose it


class Output(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: str
    variant: int
    angle: str
    engine: str
    source_sentences: list[SourceRef]
    link: str | None = None
    text: str | None = None
    thread: list[str] | None = None
    hashtags: list[str] | None = None
    alt_text: str | None = None
    image_brief: str | None = None
    subject: str | None = None
    preview_text: str | None = None
    html: str | None = None
    headlines: list[str] | None = None
    descriptions: list[str] | None = None
    primary_text: str | None = None
    final_url: str | None = None
    meta_final_url: str | None = None
    media: MediaChoice | None = None
    predicted_performance: dict[str, Any] | None = None
    prediction_note: str | None = None
    notes: list[str] = Field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": self.format, "variant": self.variant, "angle": self.angle, "engine": self.engine,
            "source_sentences": [r.model_dump() for r in self.source_sentences], "link": self.link,
        }
        for name in FORMAT_FIELDS[self.format]:
            value = getattr(self, name)
            if value is not None or name in ("text", "subject", "headlines"):
                out[name] = value.model_dump() if isinstance(value, BaseModel) else value
        out["predicted_performance"] = self.predicted_performance
        if self.predicted_performance is None:
            out["prediction_note"] = self.prediction_note
        if self.notes:
            out["notes"] = list(self.notes)
        return out

    def publishable_text(self) -> str:
        """The exact text a person approves (and the content hash covers) for this output."""
        if self.format == "email":
            return "\n".join([f"Subject: {self.subject}", f"Preview: {self.preview_text}", "", self.text or "", "", "--- html ---", self.html or ""])
        if self.format == "ads":
            lines = [*(f"Headline: {h}" for h in self.headlines or []), *(f"Description: {d}" for d in self.descriptions or []),
                     f"Primary text: {self.primary_text}", f"Final URL: {self.final_url or ''}", f"Meta final URL: {self.meta_final_url or ''}"]
            return "\n".join(lines)
        # for X the single post is what gets approved and queued; the thread is an alternative to pick instead
        return self.text or ""

    def signature(self) -> str:
        """What makes two variants the same, for the distinctness check."""
        if self.format == "email":
            return f"{self.subject}\n{self.text}"
        if self.format == "ads":
            return json.dumps([self.headlines, self.descriptions, self.primary_text], ensure_ascii=False)
        return self.text or ""
