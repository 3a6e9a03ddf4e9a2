"""Users, memberships, passwords, the lockout, sessions and the four-eyes rule, on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from campaigns.access import signin, users
from campaigns.access.roles import AccessDenied, Permission, Role
from campaigns.content import approvals
from campaigns.core.audit import entries
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import CampaignContent, LoginAttempt, User

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


@pytest.fixture
def store(store_url: str) -> str:
    with session_scope(store_url) as s:
        users.add_user(s, "Ana@Example.com", "admin", display_name="Ana", password=PASSWORD)
        users.add_user(s, "bo@example.com", "admin", password=PASSWORD)
        users.add_user(s, "sso@example.com", "admin")  # identity provider only
        users.grant(s, "ana@example.com", "acme", "owner", "admin")
        users.grant(s, "bo@example.com", "acme", Role.VIEWER, "admin")
        users.grant(s, "bo@example.com", "globex", Role.APPROVER, "admin")
    return store_url


def uid(s, email: str) -> int:
    return users.get_user(s, email).id


def test_passwords_are_argon2id_hashes_never_the_password(store: str) -> None:
    with session_scope(store) as s:
        stored = s.scalar(select(User.password_hash).where(User.email == "ana@example.com"))
        assert stored.startswith("$argon2id$") and PASSWORD not in stored
        assert s.scalar(select(User.password_hash).where(User.email == "sso@example.com")) is None


def test_bad_input_is_refused_with_the_fix(store: str) -> None:
    with session_scope(store) as s:
        with pytest.raises(users.UserExistsError, match="exists already"):
            users.add_user(s, "ana@EXAMPLE.com", "admin")
        with pytest.raises(ValueError, match="not an email address"):
            users.add_user(s, "ana", "admin")
        with pytest.raises(ValueError, match="at least 12"):
            users.add_user(s, "cy@example.com", "admin", password="short")
        with pytest.raises(ValueError, match="unknown role 'boss'"):
            users.grant(s, "bo@example.com", "acme", "boss", "admin")
        with pytest.raises(users.UnknownUserError, match="campaigns users add nobody@example.com"):
            users.grant(s, "nobody@example.com", "acme", "viewer", "admin")
        with pytest.raises(LookupError, match="unknown merchant"):
            users.grant(s, "bo@example.com", "nowhere", "viewer", "admin")


def test_roles_and_memberships_scope_each_merchant(store: str) -> None:
    with session_scope(store) as s:
        bo = uid(s, "bo@example.com")
        assert users.role_of(s, bo, "acme") is Role.VIEWER and users.role_of(s, bo, "globex") is Role.APPROVER
        assert [(m.merchant_id, m.role) for m in users.memberships_of(s, bo)] == [("acme", Role.VIEWER), ("globex", Role.APPROVER)]
        assert users.authorize(s, bo, "globex", Permission.APPROVE) is Role.APPROVER
        with pytest.raises(AccessDenied, match="viewer role may not approve"):
            users.authorize(s, bo, "acme", Permission.APPROVE)
        with pytest.raises(AccessDenied, match="without a membership"):
            users.authorize(s, uid(s, "sso@example.com"), "acme", Permission.READ)
        assert [m.email for m in users.members(s, "acme")] == ["ana@example.com", "bo@example.com"]
        assert [u.email for u, _ in users.list_users(s, "globex")] == ["bo@example.com"]
        assert len(users.list_users(s)) == 3
    with session_scope(store) as s:
        users.grant(s, "bo@example.com", "acme", "marketer", "ana@example.com")
        users.grant(s, "bo@example.com", "acme", "marketer", "ana@example.com")  # no change, no second entry
        users.revoke(s, "bo@example.com", "globex", "ana@example.com")
        with pytest.raises(users.UnknownUserError, match="not a member"):
            users.revoke(s, "bo@example.com", "globex", "ana@example.com")
    with session_scope(store) as s:
        assert users.role_of(s, uid(s, "bo@example.com"), "globex") is None
        log = [(e.action, e.actor, e.details.get("role")) for e in entries(s, "acme") if e.action.startswith("member.")]
        assert log[0] == ("member.grant", "ana@example.com", "marketer") and len(log) == 3
        assert [e.action for e in entries(s, "globex")][0] == "member.revoke"


def test_a_merchant_keeps_its_last_owner(store: str) -> None:
    with session_scope(store) as s:
        for change in (lambda: users.revoke(s, "ana@example.com", "acme", "x"),
                       lambda: users.grant(s, "ana@example.com", "acme", "viewer", "x"),
                       lambda: users.disable_user(s, "ana@example.com", "x")):
            with pytest.raises(users.LastOwnerError, match="grant another user the owner role first"):
                change()
        users.grant(s, "bo@example.com", "acme", "owner", "ana@example.com")
        users.grant(s, "ana@example.com", "acme", "viewer", "bo@example.com")
        assert users.role_of(s, uid(s, "ana@example.com"), "acme") is Role.VIEWER


def test_sign_in_lockout_after_repeated_failures(store: str) -> None:
    for attempt in range(signin.MAX_FAILURES):
        with session_scope(store) as s:
            result = signin.sign_in(s, "ana@example.com", "wrong password!!", now=T0 + timedelta(seconds=attempt))
            assert not result.ok and result.error == signin.WRONG
    with session_scope(store) as s:
        locked = signin.sign_in(s, "ana@example.com", PASSWORD, now=T0 + timedelta(minutes=1))
        assert not locked.ok and "locked until 09:15 UTC" in locked.error
    with session_scope(store) as s:
        assert signin.sign_in(s, "ana@example.com", PASSWORD, now=T0 + signin.LOCKOUT + timedelta(seconds=5)).ok
        reasons = [a.reason for a in s.scalars(select(LoginAttempt).order_by(LoginAttempt.id))]
        assert reasons == ["wrong_password"] * 5 + ["locked", "password"]
    with session_scope(store) as s:  # unknown emails and IdP-only accounts get the same answer
        assert signin.sign_in(s, "who@example.com", PASSWORD, now=T0).error == signin.WRONG
        assert signin.sign_in(s, "sso@example.com", PASSWORD, now=T0).error == signin.WRONG


def test_sessions_expire_and_end_on_sign_out_disable_and_reset(store: str) -> None:
    with session_scope(store) as s:
        token = signin.sign_in(s, "bo@example.com", PASSWORD, now=T0).token
    with session_scope(store) as s:
        assert signin.session_user(s, token, now=T0 + timedelta(hours=11)).email == "bo@example.com"
        with pytest.raises(signin.SessionInvalidError, match="sign in again"):
            signin.session_user(s, token, now=T0 + signin.SESSION_TTL)
        with pytest.raises(signin.SessionInvalidError):
            signin.session_user(s, "forged", now=T0)
        signin.sign_out(s, token)
        with pytest.raises(signin.SessionInvalidError):
            signin.session_user(s, token, now=T0)
    with session_scope(store) as s:
        token = signin.sign_in(s, "bo@example.com", PASSWORD, now=T0).token
        users.reset_password(s, "bo@example.com", "a brand new passphrase", "admin")
        with pytest.raises(signin.SessionInvalidError):
            signin.session_user(s, token, now=T0)
        assert not signin.sign_in(s, "bo@example.com", PASSWORD, now=T0).ok
        token = signin.sign_in(s, "bo@example.com", "a brand new passphrase", now=T0).token
        users.disable_user(s, "bo@example.com", "ana@example.com")
        users.disable_user(s, "bo@example.com", "ana@example.com")  # idempotent
        with pytest.raises(signin.SessionInvalidError):
            signin.session_user(s, token, now=T0)
        assert "disabled" in signin.sign_in(s, "bo@example.com", "a brand new passphrase", now=T0).error
        assert users.memberships_of(s, uid(s, "bo@example.com")) == []
        assert [e.action for e in entries(s, "globex")][:2] == ["user.disable", "user.reset_password"]
        users.enable_user(s, "bo@example.com", "ana@example.com")
        assert signin.sign_in(s, "bo@example.com", "a brand new passphrase", now=T0).ok


def test_identity_provider_sign_in_needs_an_active_account(store: str) -> None:
    with session_scope(store) as s:
        assert signin.sign_in_external(s, "SSO@example.com", now=T0).ok
        assert "campaigns users add new@example.com" in signin.sign_in_external(s, "new@example.com", now=T0).error
        assert "no usable email" in signin.sign_in_external(s, "", now=T0).error


def test_an_owner_resets_only_their_members_passwords(store: str) -> None:
    with session_scope(store) as s:
        ana, bo = uid(s, "ana@example.com"), uid(s, "bo@example.com")
        users.reset_password(s, "bo@example.com", "reset by the owner", "ana@example.com", merchant_id="acme", actor_user_id=ana)
        with pytest.raises(AccessDenied):  # bo is only a viewer of acme
            users.reset_password(s, "ana@example.com", "taken over by bo!", "bo@example.com", merchant_id="acme", actor_user_id=bo)
        with pytest.raises(users.UnknownUserError, match="not a member"):
            users.reset_password(s, "sso@example.com", "not your member", "ana@example.com", merchant_id="acme", actor_user_id=ana)


def test_four_eyes_rule_stops_authors_approving_their_own_content(store: str) -> None:
    with session_scope(store) as s:
        content = CampaignContent(merchant_id="acme", channel="social", body="Spring sale")
        s.add(content)
        s.flush()
        approvals.record(s, "acme", "bo@example.com", "content.edit", approvals.KIND_CONTENT, str(content.id))
        users.set_four_eyes(s, "acme", True, "ana@example.com")
        users.set_four_eyes(s, "acme", True, "ana@example.com")  # no change, one audit entry
        with pytest.raises(approvals.FourEyesError, match="four-eyes"):
            approvals.approve_content(s, "acme", content.id, "bo@example.com")
        with pytest.raises(approvals.FourEyesError):
            approvals.record_author_approval(s, "acme", approvals.KIND_QUEUE_TEXT, 99, "0" * 64, "bo@example.com")
        assert approvals.approve_content(s, "acme", content.id, "ana@example.com").approved_by == "ana@example.com"
        users.set_four_eyes(s, "acme", False, "ana@example.com")
        assert approvals.record_author_approval(s, "acme", approvals.KIND_QUEUE_TEXT, 99, "0" * 64, "bo@example.com").note == approvals.AUTHOR_NOTE
        assert [e.details["on"] for e in entries(s, "acme") if e.action == "policy.four_eyes"] == [False, True]


def test_password_policy_edges() -> None:
    from campaigns.access import passwords

    with pytest.raises(passwords.PasswordPolicyError, match="only spaces"):
        passwords.hash_password(" " * 12)
    with pytest.raises(passwords.PasswordPolicyError, match="shorter one"):
        passwords.hash_password("x" * (passwords.MAX_LENGTH + 1))
    stored = passwords.hash_password("a long enough passphrase")
    assert passwords.verify_password(stored, "a long enough passphrase") and not passwords.needs_rehash(stored)
    assert not passwords.verify_password("not-a-hash", "a long enough passphrase")
    assert not passwords.verify_password(None, "a long enough passphrase")
