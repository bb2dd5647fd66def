"""Media intake: uploads streamed to disk with a size limit, and media URLs checked (http(s) only, no redirects,
no private, loopback or link-local address unless allow-listed) and fetched by the worker."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx

AUDIO_TYPES = frozenset({"audio/wav", "audio/mpeg", "audio/mp3", "audio/wave", "audio/x-wav"})

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class MediaRefused(ValueError):
    """Media that will not be processed, with a message fit for the API's 400 or a failed job."""


class TooLarge(MediaRefused):
    pass


async def save_upload(chunks: AsyncIterator[bytes], path: Path, limit: int) -> int:
    """Write the request body to ``path`` chunk by chunk; refuse an empty or oversized body (nothing kept)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    try:
        with path.open("wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"The media file is larger than the limit of {limit} bytes.")
                out.write(chunk)
        if size == 0:
            raise MediaRefused("The request body is empty: send the audio file's bytes.")
    except BaseException:
        remove([str(path)])
        raise
    return size


def _blocked(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def check_url(url: str, allow: list[Network]) -> None:
    """Refuse a URL the engine must not fetch. Every address the host resolves to must be public, or inside an
    allow-listed network (SSRF guard). Resolution happens again at fetch time (see :func:`fetch`)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise MediaRefused(f"Only http and https URLs are supported, not {parts.scheme or 'a relative URL'!r}.")
    if not parts.hostname:
        raise MediaRefused("The URL has no host.")
    if parts.username or parts.password:
        raise MediaRefused("URLs with credentials are not accepted.")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except (socket.gaierror, UnicodeError):
        raise MediaRefused(f"The host {parts.hostname!r} could not be resolved.") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if _blocked(address) and not any(address in net for net in allow):
            raise MediaRefused(
                f"The URL points to a private, loopback or link-local address ({address}); such addresses are "
                "refused unless the engine's url_allow_networks setting includes them."
            )


def fetch(url: str, path: Path, *, allow: list[Network], limit: int, timeout: float) -> int:
    """Download ``url`` to ``path`` (no redirects, as Symbl); MediaRefused for anything that is not a 200."""
    check_url(url, allow)
    path.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    try:
        with (
            httpx.Client(follow_redirects=False, timeout=timeout, trust_env=False) as client,
            client.stream("GET", url) as response,
        ):
            if response.is_redirect:
                raise MediaRefused(
                    f"The media URL answered a redirect ({response.status_code}); redirects and short links are not "
                    "followed: give the final URL."
                )
            if response.status_code != 200:
                raise MediaRefused(f"The media URL answered HTTP {response.status_code}.")
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise TooLarge(f"The media file is larger than the limit of {limit} bytes.")
            with path.open("wb") as out:
                for chunk in response.iter_bytes(1 << 20):
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge(f"The media file is larger than the limit of {limit} bytes.")
                    out.write(chunk)
    except httpx.HTTPError as exc:
        path.unlink(missing_ok=True)
        raise MediaRefused(f"The media URL could not be fetched: {type(exc).__name__}.") from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if size == 0:
        path.unlink(missing_ok=True)
        raise MediaRefused("The media URL returned an empty body.")
    return size


def remove(paths: list[str]) -> None:
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(p)
