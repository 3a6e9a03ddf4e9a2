"""LinkedIn client against a local fake of the versioned REST API."""

import pytest

from publishers.base import Credentials, SocialPost
from publishers.errors import AuthExpired, Duplicate, Rejected, Retryable
from publishers.linkedin import LinkedInPublisher

ORG = Credentials.of("urn:li:organization:5515715", "li-token-1")


@pytest.fixture
def linkedin(fake_linkedin):
    publisher = LinkedInPublisher(fake_linkedin.url(), api_version="202510", timeout=2.0)
    yield publisher
    publisher.close()


def test_post_has_version_headers_escaped_commentary_and_returns_the_restli_urn(linkedin, fake_linkedin) -> None:
    text = "Winter (finally) is here! #outdoors @acme_team <3"
    receipt = linkedin.publish(SocialPost(text=text), ORG)
    request = fake_linkedin.requests[-1]
    assert request["headers"]["Linkedin-Version"] == "202510"
    assert request["headers"]["X-Restli-Protocol-Version"] == "2.0.0"
    assert request["json"] == {
        "author": "urn:li:organization:5515715",
        "commentary": r"Winter \(finally\) is here! \#outdoors \@acme\_team \<3",
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    assert receipt.post_id == fake_linkedin.posts[0]["id"] and receipt.post_id.startswith("urn:li:share:")
    assert fake_linkedin.shown() == text


def test_duplicate_post_is_terminal(linkedin) -> None:
    linkedin.publish(SocialPost(text="Same again"), ORG)
    with pytest.raises(Duplicate, match="duplicate"):
        linkedin.publish(SocialPost(text="Same again"), ORG)


def test_revoked_token_is_auth_expired(fake_linkedin) -> None:
    linkedin = LinkedInPublisher(fake_linkedin.url())
    with pytest.raises(AuthExpired, match="revoked"):
        linkedin.publish(SocialPost(text="hello"), Credentials.of(ORG.account_ref, "li-token-OLD"))


def test_429_honours_retry_after(linkedin, fake_linkedin) -> None:
    fake_linkedin.fail_next("create", "429")
    with pytest.raises(Retryable) as caught:
        linkedin.publish(SocialPost(text="hello"), ORG)
    assert caught.value.retry_after == 120


def test_over_3000_characters_or_a_bad_author_is_refused_before_sending(linkedin, fake_linkedin) -> None:
    with pytest.raises(Rejected, match="3001 characters"):
        linkedin.publish(SocialPost(text="a" * 3001), ORG)
    with pytest.raises(Rejected, match="not a URN"):
        linkedin.publish(SocialPost(text="hi"), Credentials.of("acme", "li-token-1"))
    assert fake_linkedin.requests == []
    with pytest.raises(ValueError, match="YYYYMM"):
        LinkedInPublisher(fake_linkedin.url(), api_version="2025-10")


def test_recent_posts_use_the_author_finder_and_unescape(linkedin, fake_linkedin) -> None:
    linkedin.publish(SocialPost(text="Sale (today) #deals"), ORG)
    posts = linkedin.recent_posts(ORG)
    request = fake_linkedin.requests[-1]
    assert request["headers"]["X-Restli-Method"] == "FINDER" and request["args"]["author"] == ["urn:li:organization:5515715"]
    assert [p.text for p in posts] == ["Sale (today) #deals"] and posts[0].created_at is not None
    assert linkedin.fetch_metrics(posts[0].id, ORG).values == {"likes": 9, "comments": 2}
