"""The sandbox outbox (the embedded default) and the per-platform HTML previews."""

from pathlib import Path

import pytest

from campaigns.core.settings import Settings
from publishers import PublisherConfig, build_email_publisher, build_publishers
from publishers.base import Credentials, EmailMessage, EmailRecipient, Publisher, SocialPost
from publishers.errors import Rejected
from publishers.facebook import FacebookPublisher
from publishers.instagram import InstagramPublisher
from publishers.linkedin import LinkedInPublisher
from publishers.sandbox import SandboxPublisher, read_outbox
from publishers.x import XPublisher


def test_default_publishers_are_the_sandbox_and_record_exactly_what_would_be_sent(tmp_path) -> None:
    publishers = build_publishers(PublisherConfig(outbox_dir=tmp_path / "outbox"))
    assert set(publishers) == {"x", "facebook", "instagram", "linkedin"}
    assert all(p.sandbox and isinstance(p, Publisher) for p in publishers.values())
    receipt = publishers["linkedin"].publish(SocialPost(text="Hello (world)"), Credentials.of("urn:li:organization:1", "secret-token"))
    assert receipt.sandbox and receipt.label == "sandbox" and receipt.as_dict()["mode"] == "sandbox"
    (entry,) = read_outbox(tmp_path / "outbox" / "linkedin.jsonl")
    assert entry["sandbox"] is True and entry["post_ids"] == [receipt.post_id]
    (request,) = entry["requests"]
    assert request["method"] == "POST" and request["path"] == "/rest/posts"
    assert request["body"]["commentary"] == r"Hello \(world\)" and request["body"]["author"] == "urn:li:organization:1"
    assert request["headers"]["X-Restli-Protocol-Version"] == "2.0.0"
    assert "secret-token" not in (tmp_path / "outbox" / "linkedin.jsonl").read_text()


def test_sandbox_threads_and_reconciliation_read_the_outbox(tmp_path) -> None:
    x = SandboxPublisher("x", tmp_path)
    creds = Credentials.of("2244994945")
    receipt = x.publish(SocialPost(text="one\n---\ntwo"), creds)
    (entry,) = read_outbox(x.path)
    assert entry["requests"][1]["body"] == {"text": "two", "reply": {"in_reply_to_tweet_id": "<id of part 1>"}}
    assert [(p.id, p.text) for p in x.recent_posts(creds)] == list(zip(receipt.post_ids, ["one", "two"], strict=True))
    assert x.recent_posts(Credentials.of("someone-else")) == []
    assert x.fetch_metrics(receipt.post_id, creds).sandbox
    with pytest.raises(Rejected, match="281 weighted"):
        x.publish(SocialPost(text="a" * 281), creds)  # the sandbox refuses what the platform would


def test_sandbox_email_records_each_recipients_headers(tmp_path) -> None:
    email = build_email_publisher(PublisherConfig(outbox_dir=tmp_path / "outbox"))
    message = EmailMessage(sender="news@acme.example", subject="Hi", html="<p>Hi</p>",
                           recipients=[EmailRecipient(email="a@example.com", unsubscribe_url="https://shop.example.com/u/a")])
    receipt = email.publish(message, Credentials())
    (entry,) = read_outbox(tmp_path / "outbox" / "email.jsonl")
    assert receipt.sandbox and entry["recipients"][0]["headers"] == {
        "List-Unsubscribe": "<https://shop.example.com/u/a>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    assert "SANDBOX" in email.preview(message)


def test_live_publishers_take_base_urls_from_settings(tmp_path) -> None:
    settings = Settings(home=tmp_path, x_base_url="http://127.0.0.1:1", facebook_base_url="http://127.0.0.1:2/v21.0",
                        instagram_base_url="http://127.0.0.1:3/v21.0", linkedin_base_url="http://127.0.0.1:4")
    config = settings.publisher_config()
    assert config.outbox_dir == tmp_path.resolve() / "outbox" and config.linkedin_version == settings.linkedin_version
    live = build_publishers(config, live=True)
    assert [p.base_url for p in live.values()] == ["http://127.0.0.1:1", "http://127.0.0.1:2/v21.0", "http://127.0.0.1:3/v21.0", "http://127.0.0.1:4"]
    assert not any(p.sandbox for p in live.values())
    with pytest.raises(ValueError, match="unknown email provider"):
        build_email_publisher(config, "pigeon")  # type: ignore[arg-type]


HOSTILE = 'Big <script>alert("x")</script> & "quotes" #deal @acme https://shop.example.com/a?x=1&y=<2>'


@pytest.mark.parametrize(
    ("publisher", "post", "marker"),
    [
        (XPublisher("http://unused"), SocialPost(text=HOSTILE + "\n---\npart two"), "preview-x"),
        (FacebookPublisher("http://unused"), SocialPost(text=HOSTILE), "preview-facebook"),
        (InstagramPublisher("http://unused"), SocialPost(text=HOSTILE, media=['https://cdn.example.com/a.jpg" onerror="x']), "preview-instagram"),
        (LinkedInPublisher("http://unused"), SocialPost(text=HOSTILE), "preview-linkedin"),
    ],
)
def test_previews_escape_everything_and_look_like_the_platform(publisher, post, marker) -> None:
    html = publisher.preview(post)
    assert marker in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'onerror="x"' not in html
    assert '<span style="color:' in html and "#deal</span>" in html  # hashtags styled like links


def test_x_preview_shows_each_part_with_its_weighted_count() -> None:
    html = XPublisher("http://unused").preview(SocialPost(text="日本\n---\n" + "a" * 281), name="Acme", handle="@acme")
    assert "4/280" in html and "281/280" in html and "@acme" in html and "#f4212e" in html


def test_linkedin_and_instagram_previews_truncate_like_the_feed() -> None:
    long = "word " * 100
    assert "see more" in LinkedInPublisher("http://unused").preview(SocialPost(text=long))
    assert "more" in InstagramPublisher("http://unused").preview(SocialPost(text=long, media=["https://cdn.example.com/a.jpg"]))
    assert "href=\"javascript" not in FacebookPublisher("http://unused").preview(SocialPost(text="javascript:alert(1) www.shop.example.com"))


def test_email_preview_sandboxes_the_html_in_an_iframe() -> None:
    message = EmailMessage(sender="Acme <news@acme.example>", subject="Hi {{first_name}}", html="<p>Hello {{first_name}}</p><script>x()</script>",
                           recipients=[EmailRecipient(email="a@example.com", unsubscribe_url="https://shop.example.com/u/a", variables={"first_name": "Ana & Bo"})])
    html = build_email_publisher(PublisherConfig(outbox_dir=Path("unused")), "sendgrid").preview(message)
    assert '<iframe sandbox=""' in html and "<script>" not in html
    assert "Hi Ana &amp; Bo" in html  # subject escaped once
    # the body lives only inside srcdoc, escaped once more for the attribute
    assert 'srcdoc="&lt;p&gt;Hello Ana &amp;amp; Bo&lt;/p&gt;' in html


def test_previews_show_an_image_not_uploaded_yet_but_no_other_data_url() -> None:
    png = "data:image/png;base64,iVBORw0KGgo="
    assert XPublisher("https://x.invalid").preview(SocialPost(text="Hello", media=[png, png])).count(f'<img src="{png}"') == 2
    assert f'<img src="{png}"' in InstagramPublisher("https://ig.invalid").preview(SocialPost(text="Hello", media=[png]))
    for hostile in ("data:text/html;base64,PHNjcmlwdD4=", 'data:image/png;base64,AA" onerror="alert(1)'):
        shown = InstagramPublisher("https://ig.invalid").preview(SocialPost(text="Hello", media=[hostile]))
        assert '<img src="data:' not in shown and 'onerror="' not in shown
