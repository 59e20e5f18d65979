"""Who may open the page and which server files it may read: the token check and the data-root confinement.

trame and wslink have no HTTP authentication (their websocket secret is handed to every page), so a token, when
set, is checked on every request by an aiohttp middleware: the first page is opened with `?token=...`, answered by
a redirect to the same address without it (so it stays out of the address bar and history) that sets an HttpOnly,
SameSite=Strict cookie holding an HMAC of the token, never the token itself; scripts, styles and the websocket
upgrade carry the cookie. Anything else gets 403.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from pathlib import Path, PurePosixPath, PureWindowsPath

from FLRSegmentationLib.errors import InputError

TOKEN_ENV = "FLRSEG_TOKEN"
MIN_TOKEN_LENGTH = 16
LOOPBACK_NAMES = ("localhost",)
FORBIDDEN_TEXT = "403 Forbidden: open this page with the address and ?token=... the server's operator gave you\n"


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: other computers may reach it
        return False


def checked_token(host: str, token: str | None) -> str | None:
    """The token to require (None: none); InputError when the host is reachable from other computers without one."""
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise InputError(f"{TOKEN_ENV} is shorter than {MIN_TOKEN_LENGTH} characters; set a long random secret, "
                         "e.g. from `python -c 'import secrets; print(secrets.token_urlsafe())'`")
    if not token and not is_loopback(host):
        raise InputError(f"--host {host} lets other computers reach the page: set {TOKEN_ENV} to a long random "
                         "secret in the environment (never on the command line, where every user can read it)")
    return token or None


def cookie_value(token: str) -> str:
    return hmac.new(token.encode(), b"flrseg-serve-session", hashlib.sha256).hexdigest()


def token_middleware(token: str, port: int):
    """The aiohttp middleware that answers 403 to any request without the token or its cookie."""
    from aiohttp import web

    cookie_name, expected = f"flrseg_{port}", cookie_value(token)  # one cookie per port: servers on one host differ

    @web.middleware
    async def require_token(request, handler):
        given = request.query.get("token")
        if given is not None:
            if not hmac.compare_digest(given.encode(), token.encode()):
                return web.Response(status=403, text=FORBIDDEN_TEXT)
            address = request.rel_url.without_query_params("token")
            response = web.Response(status=302, headers={"Location": str(address)})
            response.set_cookie(cookie_name, expected, httponly=True, samesite="Strict", path="/")
            return response
        if not hmac.compare_digest(request.cookies.get(cookie_name, "").encode(), expected.encode()):
            return web.Response(status=403, text=FORBIDDEN_TEXT)
        return await handler(request)

    return require_token


def resolve_under(root: Path, typed: str) -> Path:
    """The existing file or folder `typed` names inside `root`; InputError for '..', an absolute path or a link out."""
    text = typed.strip()
    if not text:
        raise InputError("Type the path of a CT file or DICOM folder inside the data folder")
    relative = PurePosixPath(text.replace("\\", "/"))
    if relative.is_absolute() or PureWindowsPath(text).anchor or ".." in relative.parts:
        raise InputError(f"'{text}': give a path inside the data folder, without '..' and not starting with '/'")
    base = Path(root).resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base):
        raise InputError(f"'{text}' leads outside the data folder (through a link); open a file inside it")
    if not target.exists():
        raise InputError(f"'{text}' is not in the data folder; check the name")
    return target
