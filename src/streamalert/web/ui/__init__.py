"""The web UI: the alerting table, the alert page and sign-in, on the public JSON API.

Pages are server-rendered shells (Jinja2); `static/app.js` fills them from `/v1/…` with the
browser's session cookie. Every asset is served from this package, so the UI works offline.
"""

from streamalert.web.ui.middleware import session_middleware
from streamalert.web.ui.pages import add_ui_routes

__all__ = ["add_ui_routes", "session_middleware"]
