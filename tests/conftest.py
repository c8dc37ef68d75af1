"""Shared fixtures: the bundled data, and an isolated $RISKBOOK_HOME for every test."""

from __future__ import annotations

import pytest

from riskbook.datasets import load_sp500


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """No test may read or write the developer's real ~/.riskbook."""
    home = tmp_path_factory.mktemp("riskbook_home")
    monkeypatch.setenv("RISKBOOK_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def sp500():
    return load_sp500()
