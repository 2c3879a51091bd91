"""Settings: flag > PARLEY_* variable > --config TOML file > default; bad values said in one line."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from parley.config import CHOICES, Settings, SettingsError


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """The developer's own PARLEY_* variables must not decide these tests."""
    import os

    for name in list(os.environ):
        if name.startswith("PARLEY_"):
            monkeypatch.delenv(name)


def toml(tmp_path, text: str):
    path = tmp_path / "parley.toml"
    path.write_text(text)
    return path


def test_precedence_flag_then_environment_then_file_then_default(tmp_path, monkeypatch):
    config = toml(tmp_path, 'port = 1001\nchat_timeout = 50\nring_mode = "all"\nmail_from = "file@x"\n')
    monkeypatch.setenv("PARLEY_PORT", "1002")
    monkeypatch.setenv("PARLEY_CHAT_TIMEOUT", "60")
    settings = Settings.load({"port": 1003}, config)
    assert settings.port == 1003  # flag over variable over file
    assert settings.chat_timeout == 60  # variable over file
    assert settings.ring_mode == "all" and settings.mail_from == "file@x"  # file over default
    assert settings.typing_ttl == Settings.model_fields["typing_ttl"].default == 30  # default
    assert Settings.load({}, config).port == 1002
    monkeypatch.delenv("PARLEY_PORT")
    assert Settings.load({}, config).port == 1001
    assert Settings.load({}).port == 8080


def test_an_empty_variable_counts_as_unset(monkeypatch):
    monkeypatch.setenv("PARLEY_PUBLIC_URL", "")
    monkeypatch.setenv("PARLEY_JSON_ALWAYS_ARRAYS", "yes")
    settings = Settings.from_env()
    assert settings.public_url is None and settings.json_always_arrays is True


def test_types_are_kept_for_the_rest_of_the_code(tmp_path):
    settings = Settings.load({}, toml(tmp_path, "transcript_recipients = 5\nsweep_interval = 2\n"))
    assert settings.transcript_recipients == "5" and settings.sweep_interval == 2.0
    assert isinstance(settings.port, int) and isinstance(settings.ring_mode, str)
    settings.no_agent_policy = "queue"  # tests and the engine may still set a field
    assert settings.no_agent_policy == "queue"


def test_secrets_are_typed_as_secrets_and_never_shown(monkeypatch):
    monkeypatch.setenv("PARLEY_SMTP_PASSWORD", "hunter2-secret")
    settings = Settings.load({"sso_jwt_key": "jwt-secret"})
    assert isinstance(settings.smtp_password, SecretStr) and isinstance(settings.sso_jwt_key, SecretStr)
    assert "hunter2" not in repr(settings) and "jwt-secret" not in str(settings)
    assert settings.secret("smtp_password") == "hunter2-secret" and settings.secret("sso_jwt_key") == "jwt-secret"
    monkeypatch.delenv("PARLEY_SMTP_PASSWORD")
    assert Settings().secret("smtp_password") is None


@pytest.mark.parametrize(
    ("flags", "start"),
    [
        ({"port": "abc"}, "port: "),
        ({"port": 70000}, "port: "),
        ({"ring_mode": "bogus"}, "ring-mode: must be one of single, all"),
        ({"login_limit": "lots"}, "login-limit: 'lots' is not a limit"),
        ({"chat_request_limit": "0/minute"}, "chat-request-limit: "),
        ({"trusted_proxies": "10.0.0.0/33"}, "trusted-proxies: "),
        ({"transcript_recipients": "none"}, "transcript-recipients: "),
        ({"limits_storage": "carrier-pigeon://loft"}, "limits-storage: "),
        ({"cors_credentialed_origins": "null"}, "cors-credentialed-origins: "),
    ],
)
def test_a_bad_value_is_one_line_naming_the_setting_and_its_source(flags, start):
    with pytest.raises(SettingsError) as caught:
        Settings.load(flags)
    message = str(caught.value)
    assert message.startswith(start) and "\n" not in message
    assert message.endswith(f"from --{next(iter(flags)).replace('_', '-')})")


def test_the_source_of_a_bad_value_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("PARLEY_RING_MODE", "bogus")
    with pytest.raises(SettingsError, match=r"got 'bogus' from PARLEY_RING_MODE\)$"):
        Settings.from_env()
    monkeypatch.delenv("PARLEY_RING_MODE")
    with pytest.raises(SettingsError, match=r"^port: .*got 'x' from port in .*parley.toml\)$"):
        Settings.load({}, toml(tmp_path, 'port = "x"\n'))


def test_a_bad_secret_is_named_but_not_shown(tmp_path):
    with pytest.raises(SettingsError) as caught:
        Settings.load({}, toml(tmp_path, 'smtp_password = ["hunter2"]\n'))
    assert str(caught.value).startswith("smtp-password: ") and "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, "no such file"),
        ("port = \n", "not valid TOML"),
        ('ring-mode = "all"\n', "ring-mode is not a setting (did you mean ring_mode?)"),
        ("colour = 1\n", "colour is not a setting"),
    ],
)
def test_config_file_errors_are_one_line(tmp_path, text, expected):
    path = tmp_path / "parley.toml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(SettingsError) as caught:
        Settings.load({}, path)
    message = str(caught.value)
    assert message.startswith(f"config {path}: ") and expected in message and "\n" not in message


def test_choices_come_from_the_definition():
    assert CHOICES["ring_mode"] == ("single", "all")
    assert CHOICES["agent_default_availability"] == ("Online", "Away", "Occupied")


def test_the_readme_config_example_is_valid(tmp_path):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    settings = Settings.load({}, toml(tmp_path, example))
    assert (settings.ring_mode, settings.json_always_arrays, settings.port) == ("all", True, 8080)


def test_flags_not_given_leave_each_setting_to_the_variable_and_the_file(tmp_path, monkeypatch):
    from parley.cli import _load, serve

    config = toml(tmp_path, "json_always_arrays = true\nsmtp_starttls = true\nport = 1001\n")
    monkeypatch.setenv("PARLEY_RING_MODE", "all")
    params = serve.make_context("serve", ["--config", str(config), "--no-smtp-starttls", "--typing-ttl", "5"]).params
    params.pop("demo")
    settings = _load(params.pop("config"), params)
    assert (settings.json_always_arrays, settings.port, settings.ring_mode) == (True, 1001, "all")
    assert (settings.smtp_starttls, settings.typing_ttl) == (False, 5)  # given flags win, --no-X included
