"""Reference §3: appId/appSecret → a JWT access token (HS256, ``exp``), cached per app so a repeated request before
expiry returns the same token with the remaining lifetime; ``Authorization: Bearer`` or the legacy ``x-api-key``."""

from __future__ import annotations

import secrets
import time

import jwt

from engine.db import Store

INVALID_TOKEN = "Token validation failed for provided token."  # noqa: S105 - a message, not a secret


class AuthError(Exception):
    """Answered with 401 and Symbl's body."""

    def __init__(self, message: str = INVALID_TOKEN) -> None:
        super().__init__(message)
        self.message = message


class Tokens:
    """Issues and verifies access tokens signed with the engine's key."""

    def __init__(self, store: Store, key: str, lifetime: int) -> None:
        self.store = store
        self.key = key
        self.lifetime = lifetime

    def issue(self, app_id: str, app_secret: str) -> tuple[str, int]:
        """(token, expiresIn) for valid credentials; AuthError otherwise."""
        if not self.store.check_app(app_id, app_secret):
            raise AuthError("Invalid appId or appSecret.")
        now = time.time()
        cached = self.store.cached_token(app_id, now)
        if cached is not None:
            token, expires_at = cached
            return token, int(expires_at - now)
        expires_at = now + self.lifetime
        claims = {"sub": app_id, "iat": int(now), "exp": int(expires_at), "jti": secrets.token_hex(8)}
        token = jwt.encode(claims, self.key, algorithm="HS256")
        self.store.save_token(app_id, token, int(expires_at))
        return token, self.lifetime

    def verify(self, authorization: str | None, api_key: str | None) -> str:
        """The app id the request acts for, from ``Authorization: Bearer`` (preferred) or ``x-api-key``."""
        token = None
        if authorization and authorization[:7].lower() == "bearer ":
            token = authorization[7:].strip()
        elif api_key:
            token = api_key.strip()
        if not token:
            raise AuthError()
        try:
            claims = jwt.decode(token, self.key, algorithms=["HS256"], options={"require": ["exp", "sub"]})
        except jwt.PyJWTError:
            raise AuthError() from None
        return str(claims["sub"])
