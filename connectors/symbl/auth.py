"""Access tokens: generated from app id and secret, cached with their expiry, renewed before they expire and once on a
401. The token never appears in a repr or a log line."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from pydantic import SecretStr

from connectors.symbl.errors import Unauthorized
from connectors.symbl.models import Token


class TokenProvider:
    """Hands out a valid bearer token. ``generate`` performs ``POST /oauth2/token:generate``."""

    def __init__(
        self,
        *,
        generate: Callable[[], Awaitable[Token]] | None,
        static: SecretStr | None = None,
        refresh_margin: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if generate is None and static is None:
            raise Unauthorized("no credentials: set app_id and app_secret, or a token")
        self._generate, self._static, self._margin, self._clock = generate, static, refresh_margin, clock
        self._token: SecretStr | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"TokenProvider(cached={'yes' if self._token else 'no'}, renewable={self._generate is not None})"

    @property
    def renewable(self) -> bool:
        return self._generate is not None

    async def token(self) -> str:
        """A token valid for at least the refresh margin (or the static one)."""
        if self._generate is None:
            assert self._static is not None
            return self._static.get_secret_value()
        async with self._lock:
            if self._token is None or self._clock() >= self._expires_at - self._margin:
                await self._renew()
            assert self._token is not None
            return self._token.get_secret_value()

    async def invalidate(self, rejected: str) -> None:
        """The server refused ``rejected``: forget it (unless a newer one was fetched meanwhile)."""
        async with self._lock:
            if self._token is not None and self._token.get_secret_value() == rejected:
                self._token = None

    async def _renew(self) -> None:
        assert self._generate is not None
        issued = self._clock()
        fresh = await self._generate()
        self._token = SecretStr(fresh.access_token)
        self._expires_at = issued + fresh.expires_in
