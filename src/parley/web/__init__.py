"""Static files of the browser pages (the SDK bridge); served by parley.http.bridge."""
