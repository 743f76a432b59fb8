"""Templates (Jinja2, autoescape on) and the security headers every console response carries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

HERE = Path(__file__).parent
# No inline script or style anywhere: scripts and styles come from /ui/static only.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; form-action 'self'; "
            "base-uri 'none'; object-src 'none'")
# Stored HTML is shown only in a sandboxed frame of the console's own page: no script, no form, no
# request anywhere but images of this site.
SANDBOX_CSP = ("sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "
               "frame-ancestors 'self'")

_env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                   trim_blocks=True, lstrip_blocks=True)


def page_headers(response: Response, *, framed: bool = False) -> Response:
    """CSP, frame and caching headers for a console response."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", SANDBOX_CSP if framed else PAGE_CSP)
    headers.setdefault("X-Frame-Options", "SAMEORIGIN" if framed else "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cache-Control", "no-store")
    return response


def render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """A page from its template; `context` should hold `chrome` (the header) for signed-in pages."""
    html = _env.get_template(template).render(request_path=request.url.path, **context)
    return HTMLResponse(html, status_code=status_code)
