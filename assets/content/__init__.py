"""Content group: Leo's repurposing of new blog posts into draft social posts, emails and ads."""
