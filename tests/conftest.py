"""Fixtures every kind of test shares."""

from __future__ import annotations

import pytest

from tests.mailbox import Mailbox


@pytest.fixture
def mailbox():
    """A real SMTP server on a loopback port that keeps what it receives."""
    box = Mailbox()
    yield box
    box.stop()
