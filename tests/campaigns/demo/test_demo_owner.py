"""The demo owner: a random password per demo, readable only by its builder, printed by `campaigns serve`; both UIs
bind to 127.0.0.1 and the app's toolbar is in viewer mode."""

from __future__ import annotations

import stat
from pathlib import Path

from campaigns.access import signin, users
from campaigns.access.roles import Role
from campaigns.cli.serve import DEFAULT_HOST, streamlit_flags
from campaigns.core.store.db import session_scope
from campaigns.demo.owner import DEMO_OWNER, SIGN_IN_FILE, create_demo_owner, demo_sign_in


def test_the_demo_owner_gets_a_fresh_random_password_in_a_private_file(store_url: str, tmp_path: Path) -> None:
    assert demo_sign_in(tmp_path) is None
    with session_scope(store_url) as s:
        first = create_demo_owner(s, "acme", tmp_path / "demo")
    path = tmp_path / "demo" / SIGN_IN_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert demo_sign_in(tmp_path) == f"email: {DEMO_OWNER}\npassword: {first}"
    with session_scope(store_url) as s:
        second = create_demo_owner(s, "acme", tmp_path / "demo")  # re-running demo-data re-keys it
        assert second != first and len(second) >= 12
        assert not signin.sign_in(s, DEMO_OWNER, first).ok
        result = signin.sign_in(s, DEMO_OWNER, second)
        assert result.ok and users.role_of(s, result.user.id, "acme") is Role.OWNER
    assert second in demo_sign_in(tmp_path)


def test_the_app_binds_to_loopback_with_the_toolbar_for_viewers() -> None:
    flags = streamlit_flags(DEFAULT_HOST, 8501)
    assert DEFAULT_HOST == "127.0.0.1"
    assert flags[flags.index("--server.address") + 1] == "127.0.0.1"
    assert flags[flags.index("--client.toolbarMode") + 1] == "viewer"
    assert flags[flags.index("--server.port") + 1] == "8501"


def test_the_projects_streamlit_config_hides_the_toolbar_and_binds_to_loopback() -> None:
    import tomllib

    config = tomllib.loads((Path(__file__).resolve().parents[3] / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["toolbarMode"] == "viewer" and config["server"]["address"] == "127.0.0.1"
