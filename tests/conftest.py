"""Every test runs with its own history database and profile: nothing touches the user's files."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_user_files(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("user")
    monkeypatch.setenv("BACKCHECK_HISTORY", str(home / "history.sqlite3"))
    monkeypatch.setenv("BACKCHECK_PROFILE", str(home / "profile.json"))
