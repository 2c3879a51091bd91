"""Static files of the browser pages: the SDK bridge (served by parley.http.bridge) and the
visitor chat widget in ``widget/`` (served by parley.http.widget)."""
