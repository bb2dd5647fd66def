"""The repository interface every backend implements, and the life-cycle logic they share."""

from __future__ import annotations

import secrets
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic import ValidationError

from storage.errors import IllegalTransition, InvalidInput, NotFound, StatusConflict, TransientStorageError
from storage.models import (
    ACTIVE,
    UPDATABLE_FIELDS,
    BusinessUX,
    Experience,
    Intelligence,
    IntelligenceApi,
    NewRecording,
    Recording,
    Registration,
    Request,
    RequestStatus,
    StatusChange,
    can_transition,
    stamp,
    utcnow,
)

DEFAULT_CAP = 50
EMPTY_MARKER: dict[str, Any] = {"callscope.empty": True}
CAS_RETRIES = 20


@dataclass(frozen=True)
class Capabilities:
    """What a backend guarantees, for callers that would otherwise check types."""

    name: str
    atomic_replace: bool
    """``replace_intelligence`` is all-or-nothing (readers never see a half-written set)."""
    strict_fifo: bool
    """``claim`` takes exactly the oldest pending requests (else: a random pick among the oldest few × the batch)."""
    unique_job_ids: bool
    """Recording a job id that another request already holds is refused (InvalidInput)."""
    cross_process_claims: bool
    """``claim`` is safe for concurrent callers in other processes (on other hosts when ``networked``)."""
    networked: bool
    """Several hosts can share the store."""
    max_items_per_write: int | None
    """The backend splits larger writes into batches of this size (None: no limit)."""


@dataclass(frozen=True)
class RequestFilter:
    statuses: frozenset[RequestStatus] | None = None
    job_id: str | None = None
    conversation_id: str | None = None
    recording_id: str | None = None
    limit: int | None = None
    """With a limit, the oldest (by requested_at, then id) come first."""

    def equalities(self) -> dict[str, str]:
        """The field = value conditions this filter sets (every backend applies them the same way)."""
        fields = {
            "job_id": self.job_id,
            "conversation_id": self.conversation_id,
            "recording_id": self.recording_id,
        }
        return {k: v for k, v in fields.items() if v is not None}


def validate(model: type[Any], value: Any) -> Any:
    """Parse ``value`` as ``model``; a validation error becomes :class:`InvalidInput` naming the fields."""
    if isinstance(value, model):
        value = value.model_dump()
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or model.__name__}: {e['msg']}" for e in exc.errors())
        raise InvalidInput(f"invalid {model.__name__}: {problems}") from exc


class Repository(ABC):
    """Async access to recordings, requests, intelligence, business UX rows and experiences."""

    capabilities: ClassVar[Capabilities]

    def __init__(self, url: str, *, cap: int = DEFAULT_CAP) -> None:
        if cap < 1:
            raise InvalidInput(f"cap must be ≥ 1, got {cap}")
        self.url = url
        self.cap = cap

    def __repr__(self) -> str:
        return f"{type(self).__name__}(backend={self.capabilities.name!r}, cap={self.cap})"

    async def __aenter__(self) -> Repository:
        await self.setup()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- backend primitives -------------------------------------------------------------------------------
    @abstractmethod
    async def setup(self) -> None:
        """Create or migrate the schema (idempotent, safe when several processes start at once)."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def _insert_registration(self, recording: Recording, requests: list[Request]) -> bool:
        """Insert the recording and its requests unless the recording exists; False when it did."""

    @abstractmethod
    async def get_recording(self, recording_id: str) -> Recording | None: ...

    @abstractmethod
    async def get_request(self, request_id: str) -> Request | None: ...

    @abstractmethod
    async def _cas_request(self, new: Request, expected_version: int) -> bool:
        """Write ``new`` if the stored version is ``expected_version``; False otherwise."""

    @abstractmethod
    async def _find_requests(self, flt: RequestFilter) -> list[Request]: ...

    @abstractmethod
    async def counts_by_status(self) -> dict[RequestStatus, int]:
        """How many requests are in each status (statuses with none are left out)."""

    @abstractmethod
    async def _claim(self, limit: int, now: datetime) -> list[Request]:
        """Atomically move up to ``min(limit, cap - active)`` oldest pending requests to submitting."""

    @abstractmethod
    async def _replace_items(
        self, conversation_id: str, api: IntelligenceApi, items: list[dict[str, Any]], fetched_at: datetime
    ) -> None: ...

    @abstractmethod
    async def _get_intelligence(self, conversation_id: str, api: IntelligenceApi) -> Intelligence | None:
        """The stored items as written (an empty set is the one EMPTY_MARKER item), or None if never stored."""

    @abstractmethod
    async def _put_business_ux(self, ux: BusinessUX) -> None: ...

    @abstractmethod
    async def get_business_ux(self, business_name: str) -> BusinessUX | None: ...

    @abstractmethod
    async def _put_experience(self, exp: Experience) -> None: ...

    @abstractmethod
    async def get_experience(self, conversation_id: str, name: str) -> Experience | None: ...

    # ---- recordings ---------------------------------------------------------------------------------------
    async def register(self, recording: NewRecording | dict[str, Any]) -> Registration:
        """Register a recording and one pending request per part; idempotent by content hash."""
        new: NewRecording = validate(NewRecording, recording)
        now = stamp()
        rec = Recording(**new.model_dump(), id=new.recording_id, added_at=now)
        parts = new.parts()
        requests = [
            Request(
                id=f"{rec.id}-p{part}",
                recording_id=rec.id,
                part=part,
                duration_s=new.duration_s / parts,  # equal parts, each under 4 h
                requested_at=now,
                updated_at=now,
                webhook_token=secrets.token_urlsafe(24),
                history=[StatusChange(status=RequestStatus.PENDING, at=now)],
            )
            for part in range(parts)
        ]
        if await self._insert_registration(rec, requests):
            return Registration(recording=rec, requests=requests, created=True)
        existing = await self.get_recording(rec.id)
        if existing is None:  # pragma: no cover - a concurrent delete; nothing deletes recordings today
            raise TransientStorageError(f"recording {rec.id} vanished during registration")
        return Registration(
            recording=existing, requests=await self._find_requests(RequestFilter(recording_id=rec.id)), created=False
        )

    # ---- request life cycle -------------------------------------------------------------------------------
    async def transition(
        self,
        request_id: str,
        to: RequestStatus | str,
        *,
        expected: Iterable[RequestStatus | str] | None = None,
        note: str | None = None,
        **updates: Any,
    ) -> Request:
        """Move a request to ``to`` (compare-and-set), recording the change in its history.

        ``expected`` makes the move conditional: :class:`StatusConflict` if the request is elsewhere. Moving to the
        current status records nothing new (idempotent) but applies ``updates``. Illegal moves raise
        :class:`IllegalTransition`. ``updates`` may set: conversation_id, job_id, submitted_at, last_error,
        idempotency_key.
        """
        target = validate_status(to)
        wanted = frozenset(validate_status(s) for s in expected) if expected is not None else None
        unknown = set(updates) - UPDATABLE_FIELDS
        if unknown:
            raise InvalidInput(f"cannot set {sorted(unknown)} with a transition; allowed: {sorted(UPDATABLE_FIELDS)}")
        for _ in range(CAS_RETRIES):
            current = await self.get_request(request_id)
            if current is None:
                raise NotFound(f"no request {request_id!r}")
            if wanted is not None and current.status not in wanted:
                raise StatusConflict(
                    f"request {request_id} is {current.status.value}, expected one of {sorted(s.value for s in wanted)}"
                )
            if target == RequestStatus.SUBMITTING and current.status != target:
                raise IllegalTransition(f"request {request_id}: only claim() may admit a request (the cap)")
            if not can_transition(current.status, target):
                raise IllegalTransition(f"request {request_id}: {current.status.value} → {target.value} is not allowed")
            now = stamp()
            data = current.model_dump()
            data.update(updates, status=target, updated_at=now, version=current.version + 1)
            if target != current.status:
                data["history"] = [*data["history"], StatusChange(status=target, at=now, note=note).model_dump()]
            new = validate(Request, data)
            if await self._cas_request(new, current.version):
                return new
        raise TransientStorageError(f"request {request_id}: too much contention, {CAS_RETRIES} attempts lost")

    async def claim(self, limit: int) -> list[Request]:
        """Atomically move up to the free headroom (cap − active) of pending requests, oldest first, to submitting.

        Each claimed request gets a fresh idempotency key and one more attempt. Safe under concurrent callers.
        """
        if limit < 0:
            raise InvalidInput(f"limit must be ≥ 0, got {limit}")
        if limit == 0:
            return []
        return await self._claim(limit, stamp())

    async def release(self, request_id: str, reason: str | None = None) -> Request:
        """Put a claim back (the provider answered 429): submitting → pending, not counted as a failure."""
        return await self.transition(
            request_id, RequestStatus.PENDING, expected=[RequestStatus.SUBMITTING], note=reason or "released"
        )

    # ---- queries ------------------------------------------------------------------------------------------
    async def oldest_pending(self, limit: int = 1) -> list[Request]:
        return await self._find_requests(RequestFilter(statuses=frozenset({RequestStatus.PENDING}), limit=limit))

    async def active_requests(self) -> list[Request]:
        return await self._find_requests(RequestFilter(statuses=ACTIVE))

    async def active_count(self) -> int:
        counts = await self.counts_by_status()
        return sum(counts.get(s, 0) for s in ACTIVE)

    async def active_older_than(self, ratio: float, now: datetime | None = None) -> list[Request]:
        """Active requests submitted more than ``ratio`` × their duration ago (the SLA check).

        Active requests are bounded by the cap, so they are filtered here rather than in each backend's dialect.
        """
        if ratio <= 0:
            raise InvalidInput(f"ratio must be > 0, got {ratio}")
        now = now or utcnow()
        return [
            r
            for r in await self.active_requests()
            if now - (r.submitted_at or r.updated_at) > timedelta(seconds=ratio * r.duration_s)
        ]

    async def by_job_id(self, job_id: str) -> Request | None:
        found = await self._find_requests(RequestFilter(job_id=job_id, limit=1))
        return found[0] if found else None

    async def by_conversation_id(self, conversation_id: str) -> list[Request]:
        return await self._find_requests(RequestFilter(conversation_id=conversation_id))

    async def requests_for(self, recording_id: str) -> list[Request]:
        return await self._find_requests(RequestFilter(recording_id=recording_id))

    async def list_requests(
        self, statuses: Iterable[RequestStatus | str] | None = None, limit: int | None = None
    ) -> list[Request]:
        wanted = frozenset(validate_status(s) for s in statuses) if statuses is not None else None
        return await self._find_requests(RequestFilter(statuses=wanted, limit=limit))

    # ---- intelligence, UX, experiences --------------------------------------------------------------------
    async def replace_intelligence(
        self, conversation_id: str, api: IntelligenceApi | str, items: Sequence[dict[str, Any]] | dict[str, Any]
    ) -> Intelligence:
        """Store one API's result for a conversation, replacing what was there (idempotent).

        ``items`` is the API's list (messages, topics, …) or, for object-shaped APIs (analytics, conversation), one
        object, stored as a one-item list.
        """
        listed = [items] if isinstance(items, dict) else list(items)
        bad = next((i for i, item in enumerate(listed) if not isinstance(item, dict)), None)
        if bad is not None:
            raise InvalidInput(
                f"invalid Intelligence: items.{bad}: expected a JSON object, got {type(listed[bad]).__name__}"
            )
        # The envelope is validated; the items (often thousands) are only checked to be objects, not copied.
        envelope = validate(
            Intelligence, {"conversation_id": conversation_id, "api": api, "items": [], "fetched_at": stamp()}
        )
        record = envelope.model_copy(update={"items": listed})
        # An empty answer is stored as one marker item, so that "stored, empty" differs from "never stored".
        await self._replace_items(record.conversation_id, record.api, record.items or [EMPTY_MARKER], record.fetched_at)
        return record

    async def get_intelligence(self, conversation_id: str, api: IntelligenceApi | str) -> Intelligence | None:
        """The stored items of one API for one conversation (possibly none), or None if never stored."""
        found = await self._get_intelligence(conversation_id, IntelligenceApi(api))
        if found is not None and found.items == [EMPTY_MARKER]:
            return found.model_copy(update={"items": []})
        return found

    async def put_business_ux(self, ux: BusinessUX | dict[str, Any]) -> BusinessUX:
        """Store (replace) a business's white-labelling row."""
        record: BusinessUX = validate(BusinessUX, ux)
        await self._put_business_ux(record)
        return record

    async def put_experience(self, exp: Experience | dict[str, Any]) -> Experience:
        """Store (replace) the experience URL of a conversation."""
        record: Experience = validate(Experience, exp)
        await self._put_experience(record)
        return record


def validate_status(value: RequestStatus | str) -> RequestStatus:
    try:
        return RequestStatus(value)
    except ValueError:
        raise InvalidInput(f"unknown status {value!r}; one of {', '.join(s.value for s in RequestStatus)}") from None


def claimed(req: Request, now: datetime) -> dict[str, Any]:
    """The fields of a pending request once claimed (shared by every backend's ``_claim``)."""
    history = [*req.history, StatusChange(status=RequestStatus.SUBMITTING, at=now, note="claimed")]
    return {
        "status": RequestStatus.SUBMITTING,
        "attempts": req.attempts + 1,
        "idempotency_key": uuid.uuid4().hex,
        "updated_at": now,
        "version": req.version + 1,
        "history": history,
    }
