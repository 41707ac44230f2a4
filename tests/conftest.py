"""Shared test set-up: every test runs offline, and touching the network fails it."""
import socket

import pytest


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path_factory):
    """Force the synthetic data path and fail any test that opens a connection."""
    monkeypatch.setenv("COURSEKIT_OFFLINE", "1")
    from coursekit import network

    network.is_online.cache_clear()

    def refuse(*args, **kwargs):
        raise AssertionError(f"a test tried to use the network: {args!r}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    yield
    network.is_online.cache_clear()


@pytest.fixture(scope="session")
def data_home(tmp_path_factory):
    """One synthetic-data folder for the whole session (datasets are cached inside)."""
    return tmp_path_factory.mktemp("coursekit-data")
