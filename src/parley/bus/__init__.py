"""Wake-ups between the writer path and waiting requests (in-process today; Redis later)."""
