"""Leo, the creative director: one blog post into posts, threads, captions, emails and ads."""

from agents.leo.repurpose import RepurposeResult, parse_formats, repurpose

__all__ = ["RepurposeResult", "parse_formats", "repurpose"]
