"""Previews show a post's media: image thumbnails with escaped alt text, a video placeholder with its duration."""

from pathlib import Path

from publishers.base import SocialPost
from publishers.facebook import FacebookPublisher
from publishers.instagram import InstagramPublisher
from publishers.linkedin import LinkedInPublisher
from publishers.previews import duration_label
from publishers.sandbox import SandboxPublisher
from publishers.x import XPublisher

IMAGE, VIDEO = "https://app.example.com/media/a.jpg", "https://app.example.com/media/b.mp4"


def test_duration_labels() -> None:
    assert [duration_label(s) for s in (None, 0.4, 9.6, 75.0, 3600.0)] == ["Video", "Video · 0:00", "Video · 0:10", "Video · 1:15", "Video · 60:00"]


def test_every_platform_shows_images_with_alt_text_and_videos_with_their_duration() -> None:
    durations = {VIDEO: 75.0}
    images = SocialPost(text="Look", media=(IMAGE, IMAGE), media_alt=('Coat "red" <b>', ""))
    video = SocialPost(text="Watch", media=(VIDEO,))
    for publisher in (XPublisher("http://unused"), LinkedInPublisher("http://unused"), InstagramPublisher("http://unused"),
                      FacebookPublisher("http://unused")):
        shown = publisher.preview(images, durations=durations)
        assert f'src="{IMAGE}"' in shown and 'alt="Coat &quot;red&quot; &lt;b&gt;"' in shown, publisher
        played = publisher.preview(video, durations=durations)
        assert "preview-video" in played and "Video · 1:15" in played and "<video" not in played, publisher
        assert "Video · " not in publisher.preview(video) and ">Video<" in publisher.preview(video)  # no file read: no duration
    assert XPublisher("http://unused").preview(images).count("<img") == 2  # X shows the grid
    assert "1/2" in InstagramPublisher("http://unused").preview(images)  # Instagram the first of a carousel, counted


def test_a_facebook_link_card_gives_way_to_media_and_unsafe_urls_show_nothing() -> None:
    facebook = FacebookPublisher("http://unused")
    card = "background:#f0f2f5"
    assert card in facebook.preview(SocialPost(text="https://shop.example.com/x"))
    assert card not in facebook.preview(SocialPost(text="https://shop.example.com/x", media=(IMAGE,)))
    assert "<img" not in XPublisher("http://unused").preview(SocialPost(text="hi", media=('javascript:alert(1)"',)))


def test_the_sandbox_preview_passes_durations_through(tmp_path: Path) -> None:
    shown = SandboxPublisher("linkedin", tmp_path).preview(SocialPost(text="Watch", media=(VIDEO,)), durations={VIDEO: 12.0})
    assert "SANDBOX" in shown and "Video · 0:12" in shown
