"""Limit settings: parsed with the limits library, refused at start when they make no sense."""

from __future__ import annotations

import pytest

from parley.config import Settings, SettingsError, credentialed_origins, parse_rates, recipient_cap, storage_uri


def test_rates_and_off():
    (item,) = parse_rates("10/minute")
    assert (item.amount, item.get_expiry()) == (10, 60)
    assert [i.amount for i in parse_rates("5/second; 100/hour")] == [5, 100]
    assert parse_rates("off") == parse_rates(" OFF ") == ()


@pytest.mark.parametrize("value", ["", "ten a minute", "0/minute", "-1/minute", "5/fortnight"])
def test_bad_rates(value):
    with pytest.raises(ValueError):
        parse_rates(value)
    with pytest.raises(SettingsError, match="^chat-request-limit: "):
        Settings.load({"chat_request_limit": value})


def test_recipients():
    assert recipient_cap("3") == 3 and recipient_cap("off") is None
    for bad in ("0", "three", "²", "10000"):
        with pytest.raises(ValueError):
            recipient_cap(bad)


def test_storage_uri():
    assert storage_uri("memory://") == "async+memory://"
    assert storage_uri("redis://cache:6379") == "async+redis://cache:6379"
    assert storage_uri("async+memory://") == "async+memory://"
    with pytest.raises(ValueError):
        storage_uri("pigeon://loft")


def test_credentialed_origins():
    assert credentialed_origins("https://a.example, https://b.example:8443/") == {
        b"https://a.example",
        b"https://b.example:8443",
    }
    assert credentialed_origins(None) == frozenset()
    for bad in ("null", "a.example", "https://a.example/path"):
        with pytest.raises(ValueError):
            credentialed_origins(bad)


def test_limit_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("PARLEY_LOGIN_LIMIT", "off")
    monkeypatch.setenv("PARLEY_CORS_CREDENTIALED_ORIGINS", "https://a.example")
    settings = Settings.from_env()
    assert settings == Settings(login_limit="off", cors_credentialed_origins="https://a.example")
    monkeypatch.delenv("PARLEY_LOGIN_LIMIT")
    assert settings != Settings()
