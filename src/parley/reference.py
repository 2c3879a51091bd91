"""The settings reference (docs/settings.md), rendered from the settings definition itself, so
the documentation cannot fall behind the code: a test compares the two.

Regenerate after changing a setting: ``python -m parley.reference > docs/settings.md``.
"""

from __future__ import annotations

from pydantic import SecretStr

from parley.config import CHOICES, Settings, env_name, flag_name, is_secret

HEADER = """\
# Settings reference

Generated from `src/parley/config.py` by `python -m parley.reference > docs/settings.md`;
`tests/unit/test_settings_reference.py` fails when the two differ.

Every setting of `parley serve` comes from, in this order: its flag, its `PARLEY_*` environment
variable, the TOML file named by `--config` (keys are the setting names below), its default.
Secrets are never printed (not in `--help`, not in error lines).

| setting (TOML key) | flag | environment variable | default | meaning |
| --- | --- | --- | --- | --- |
"""


def _default(name: str) -> str:
    value = Settings.model_fields[name].default
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, SecretStr):
        return "(secret)"
    return f"`{value}`"


def _meaning(name: str) -> str:
    description = Settings.model_fields[name].description or ""
    text = description[0].upper() + description[1:] if description else ""
    if name in CHOICES:
        text += f" (one of: {', '.join(f'`{c}`' for c in CHOICES[name])})"
    if is_secret(name):
        text += "; a secret"
    return text.replace("|", "\\|")


def settings_markdown() -> str:
    rows = [
        f"| `{name}` | `--{flag_name(name)}` | `{env_name(name)}` | {_default(name)} | {_meaning(name)} |"
        for name in Settings.model_fields
    ]
    return HEADER + "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(settings_markdown(), end="")
