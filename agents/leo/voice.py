"""The merchant's brand voice as both engines apply it.

* ``words_to_avoid``: no output uses them (the offline engine never picks a sentence holding
  one; a model that writes one is asked again);
* ``emoji``: off removes every emoji from what Leo writes (and a model's);
* ``hashtag_count``: at most this many hashtags on a social post (within the platform's own
  maximum); ``None`` leaves the format's default;
* ``sign_off``: a closing line added to every social post and email.
* ``description``: how the brand sounds, in words, for the model's system prompt.

It comes from the merchant's settings (`campaigns.core.merchants.get_brand_voice`), else
from ``CAMPAIGNS_BRAND_VOICE`` for the description.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from agents.settings import DEFAULT_BRAND_VOICE


@dataclass(frozen=True)
class BrandVoice:
    description: str = DEFAULT_BRAND_VOICE
    words_to_avoid: tuple[str, ...] = field(default_factory=tuple)
    emoji: bool = False
    hashtag_count: int | None = None
    sign_off: str = ""

    @classmethod
    def from_settings(cls, description: str, stored: Any | None = None) -> BrandVoice:
        """The voice from the agent settings' description, overridden by a merchant's stored voice (any object with the fields)."""
        if stored is None:
            return cls(description=description)
        return cls(
            description=(getattr(stored, "description", "") or description),
            words_to_avoid=tuple(w.strip() for w in (getattr(stored, "words_to_avoid", None) or ()) if w and w.strip()),
            emoji=bool(getattr(stored, "emoji", False)),
            hashtag_count=getattr(stored, "hashtag_count", None),
            sign_off=(getattr(stored, "sign_off", "") or "").strip(),
        )

    def to_dict(self) -> dict[str, Any]:
        """The merchant's settings as JSON (kept in a workflow step's config, so the step writes in the voice it was planned with)."""
        return {"words_to_avoid": list(self.words_to_avoid), "emoji": self.emoji, "hashtag_count": self.hashtag_count, "sign_off": self.sign_off}

    @classmethod
    def from_dict(cls, description: str, data: dict[str, Any] | None) -> BrandVoice:
        if not data:
            return cls(description=description)
        return cls(description=description, words_to_avoid=tuple(str(w) for w in data.get("words_to_avoid") or ()),
                   emoji=bool(data.get("emoji", False)), hashtag_count=data.get("hashtag_count"), sign_off=str(data.get("sign_off") or ""))

    def hashtag_limit(self, format_max: int) -> int:
        return format_max if self.hashtag_count is None else max(0, min(self.hashtag_count, format_max))

    def prompt(self) -> str:
        """The voice as the model's system prompt states it."""
        lines = [self.description.strip()]
        if self.words_to_avoid:
            lines.append(f"Never use these words: {', '.join(self.words_to_avoid)}.")
        lines.append("Use emoji sparingly where they fit." if self.emoji else "Write no emoji.")
        if self.hashtag_count is not None:
            lines.append(f"At most {self.hashtag_count} hashtags per post.")
        if self.sign_off:
            lines.append(f"Do not write a sign-off; the system adds “{self.sign_off}”.")
        return " ".join(lines)

    def allows(self, text: str) -> bool:
        lowered = text.lower()
        return not any(re.search(rf"(?<!\w){re.escape(w.lower())}(?!\w)", lowered) for w in self.words_to_avoid)
