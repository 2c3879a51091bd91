"""parley: a self-hosted live-chat server that speaks LivePerson's legacy chat REST APIs."""

__version__ = "0.1.0"
