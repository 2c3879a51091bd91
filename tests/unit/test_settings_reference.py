"""docs/settings.md is the settings definition rendered: a setting added, renamed or given a new
default without regenerating the reference fails here, as does a setting without a meaning."""

from pathlib import Path

from parley.config import Settings
from parley.reference import settings_markdown

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_every_setting_says_what_it_means():
    undocumented = [name for name, spec in Settings.model_fields.items() if not (spec.description or "").strip()]
    assert not undocumented


def test_the_reference_is_the_definition_rendered():
    assert REFERENCE.read_text() == settings_markdown(), (
        "docs/settings.md is out of date: python -m parley.reference > docs/settings.md"
    )


def test_the_reference_names_every_setting_flag_and_variable():
    text = REFERENCE.read_text()
    for name in Settings.model_fields:
        assert f"| `{name}` | `--{name.replace('_', '-')}` | `PARLEY_{name.upper()}` |" in text
