"""The engine's durable state: apps, tokens, conversations, jobs (the queue), transcripts, analyses, trackers and the
webhook outbox, in SQLite (WAL, ``BEGIN IMMEDIATE``) or PostgreSQL (row locks, ``SKIP LOCKED``).

Every status change is written together with the webhook it triggers, in one transaction, before anything acts on it.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from engine.ids import job_id as new_job_id
from engine.ids import numeric_id

SCHEMA_VERSION = 2
ACTIVE = ("scheduled", "in_progress")
TERMINAL = ("completed", "failed")

metadata = sa.MetaData()

meta = sa.Table("engine_meta", metadata, sa.Column("key", sa.String(64), primary_key=True), sa.Column("value", sa.Text))
apps = sa.Table(
    "apps",
    metadata,
    sa.Column("app_id", sa.String(200), primary_key=True),
    sa.Column("secret_sha256", sa.String(64), nullable=False),
)
tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("app_id", sa.String(200), primary_key=True),
    sa.Column("token", sa.Text, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)
conversations = sa.Table(
    "conversations",
    metadata,
    sa.Column("id", sa.String(20), primary_key=True),
    sa.Column("app_id", sa.String(200), nullable=False, index=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("type", sa.String(20), nullable=False, server_default="meeting"),
    sa.Column("source", sa.String(10), nullable=False),  # audio | text
    sa.Column("start_time", sa.Float, nullable=False),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Column("params", sa.JSON, nullable=False),  # the first submission's parameters
    sa.Column("members", sa.JSON, nullable=False),  # member id → {name, email} set by PUT members/{id}
    sa.Column("created_at", sa.Float, nullable=False),
)
jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(36), nullable=False, unique=True),
    sa.Column("app_id", sa.String(200), nullable=False),
    sa.Column("conversation_id", sa.String(20), nullable=False, index=True),
    sa.Column("kind", sa.String(12), nullable=False),  # audio_file | audio_url | text
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("media_path", sa.Text),
    sa.Column("media_url", sa.Text),
    sa.Column("webhook_url", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("worker", sa.String(64)),
    sa.Column("lease_until", sa.Float),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("idempotency_key", sa.String(200)),  # the client's Idempotency-Key header: a repeat returns this job
    sa.Index("ix_jobs_status_seq", "status", "seq"),
    sa.Index("ix_jobs_app_status", "app_id", "status"),
)
segments = sa.Table(  # one transcript per completed job, joined in job order into the conversation
    "segments",
    metadata,
    sa.Column("job_id", sa.String(36), primary_key=True),
    sa.Column("conversation_id", sa.String(20), nullable=False, index=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("transcript", sa.JSON, nullable=False),
)
analyses = sa.Table(
    "analyses",
    metadata,
    sa.Column("conversation_id", sa.String(20), primary_key=True),
    sa.Column("body", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)
trackers = sa.Table(
    "trackers",
    metadata,
    sa.Column("id", sa.String(20), primary_key=True),
    sa.Column("app_id", sa.String(200), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("body", sa.JSON, nullable=False),
    sa.UniqueConstraint("app_id", "name", name="uq_tracker_name"),
)
experiences = sa.Table(
    "experiences",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("conversation_id", sa.String(20), nullable=False, index=True),
    sa.Column("body", sa.JSON, nullable=False),
    sa.Column("expires_at", sa.Float),  # None: never
)
outbox = sa.Table(
    "webhook_outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job_id", sa.String(36), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.Float, nullable=False),
    sa.Column("delivered_at", sa.Float),
    sa.Column("gave_up", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("last_error", sa.Text),
    sa.Index("ix_outbox_due", "delivered_at", "gave_up", "next_attempt_at"),
)


class CapReached(Exception):
    """The account already has ``max_active_jobs`` scheduled or in-progress jobs."""


class UnknownConversation(Exception):
    """No such conversation for this account."""


class DuplicateTracker(Exception):
    """A tracker with that name exists in the account."""


@dataclass(frozen=True)
class Job:
    seq: int
    id: str
    app_id: str
    conversation_id: str
    kind: str
    status: str
    params: dict[str, Any]
    media_path: str | None
    media_url: str | None
    webhook_url: str | None
    error: str | None
    attempts: int


def _job(row: Any) -> Job:
    return Job(
        seq=row.seq,
        id=row.id,
        app_id=row.app_id,
        conversation_id=row.conversation_id,
        kind=row.kind,
        status=row.status,
        params=row.params,
        media_path=row.media_path,
        media_url=row.media_url,
        webhook_url=row.webhook_url,
        error=row.error,
        attempts=row.attempts,
    )


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def make_engine(url: str) -> Engine:
    """An SQLAlchemy engine; on SQLite every transaction is ``BEGIN IMMEDIATE`` so check-then-write is atomic
    across the API and worker processes."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


class Store:
    """Synchronous access to the engine's database; safe to share between threads of one process."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.is_sqlite = url.startswith("sqlite")

    def create_schema(self) -> None:
        metadata.create_all(self.engine)
        with self.tx() as c:
            version = c.execute(sa.select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
            if version is None:
                c.execute(sa.insert(meta).values(key="schema_version", value=str(SCHEMA_VERSION)))
            elif int(version) > SCHEMA_VERSION:
                raise RuntimeError(f"engine database schema {version} is newer than this engine ({SCHEMA_VERSION})")
            elif int(version) < 2:  # v2: jobs.idempotency_key
                c.exec_driver_sql("ALTER TABLE jobs ADD COLUMN idempotency_key VARCHAR(200)")
                c.execute(sa.update(meta).where(meta.c.key == "schema_version").values(value=str(SCHEMA_VERSION)))
            c.exec_driver_sql(
                "CREATE UNIQUE INDEX IF NOT EXISTS jobs_app_idempotency_key ON jobs (app_id, idempotency_key)"
            )

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    # ---- meta and apps -------------------------------------------------------------------------------------

    def meta_value(self, key: str, default: str) -> str:
        """The stored value of ``key``, storing ``default`` first if there is none (first writer wins)."""
        with self.tx() as c:
            value = c.execute(sa.select(meta.c.value).where(meta.c.key == key)).scalar()
            if value is None:
                c.execute(sa.insert(meta).values(key=key, value=default))
                return default
            return str(value)

    def set_apps(self, credentials: dict[str, str]) -> None:
        """Make ``credentials`` ({appId: appSecret}) the accounts; secrets are kept only as SHA-256."""
        with self.tx() as c:
            for app_id, secret in credentials.items():
                digest = secret_digest(secret)
                if c.execute(sa.select(apps.c.app_id).where(apps.c.app_id == app_id)).first():
                    c.execute(sa.update(apps).where(apps.c.app_id == app_id).values(secret_sha256=digest))
                else:
                    c.execute(sa.insert(apps).values(app_id=app_id, secret_sha256=digest))

    def check_app(self, app_id: str, secret: str) -> bool:
        with self.tx() as c:
            stored = c.execute(sa.select(apps.c.secret_sha256).where(apps.c.app_id == app_id)).scalar()
        return stored is not None and hmac.compare_digest(stored, secret_digest(secret))

    def cached_token(self, app_id: str, now: float, margin: float = 60.0) -> tuple[str, float] | None:
        with self.tx() as c:
            row = c.execute(sa.select(tokens).where(tokens.c.app_id == app_id)).first()
        if row is None or row.expires_at - margin <= now:
            return None
        return row.token, row.expires_at

    def save_token(self, app_id: str, token: str, expires_at: float) -> None:
        with self.tx() as c:
            c.execute(sa.delete(tokens).where(tokens.c.app_id == app_id))
            c.execute(sa.insert(tokens).values(app_id=app_id, token=token, expires_at=expires_at))

    # ---- submissions and the cap ---------------------------------------------------------------------------

    def submit(
        self,
        *,
        app_id: str,
        conversation_id: str | None,
        kind: str,
        params: dict[str, Any],
        cap: int,
        media_path: str | None = None,
        media_url: str | None = None,
        start_time: float | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[Job, bool]:
        """Admit one job under the account's cap (atomically), creating its conversation on POST; the
        ``scheduled`` webhook is queued in the same transaction. With an ``idempotency_key`` that this account used
        before, nothing is created: the earlier job is returned. The flag says whether the job is new."""
        now = time.time()
        with self.tx() as c:
            # Serialise submissions of one account: SQLite's BEGIN IMMEDIATE already does; PostgreSQL locks the row.
            c.execute(sa.select(apps.c.app_id).where(apps.c.app_id == app_id).with_for_update())
            if idempotency_key is not None:
                earlier = c.execute(
                    sa.select(jobs).where(jobs.c.app_id == app_id, jobs.c.idempotency_key == idempotency_key)
                ).first()
                if earlier is not None:
                    return _job(earlier), False
            active = c.execute(
                sa.select(sa.func.count()).select_from(jobs).where(jobs.c.app_id == app_id, jobs.c.status.in_(ACTIVE))
            ).scalar_one()
            if active >= cap:
                raise CapReached(cap)
            if conversation_id is None:
                conversation_id = numeric_id()
                c.execute(
                    sa.insert(conversations).values(
                        id=conversation_id,
                        app_id=app_id,
                        name=params.get("name") or conversation_id,
                        source="text" if kind == "text" else "audio",
                        start_time=start_time or now,
                        metadata={},
                        params=params,
                        members={},
                        created_at=now,
                    )
                )
            elif not c.execute(
                sa.select(conversations.c.id).where(
                    conversations.c.id == conversation_id, conversations.c.app_id == app_id
                )
            ).first():
                raise UnknownConversation(conversation_id)
            job = new_job_id()
            webhook = params.get("webhookUrl")
            c.execute(
                sa.insert(jobs).values(
                    id=job,
                    app_id=app_id,
                    conversation_id=conversation_id,
                    kind=kind,
                    status="scheduled",
                    params=params,
                    media_path=media_path,
                    media_url=media_url,
                    webhook_url=webhook,
                    created_at=now,
                    updated_at=now,
                    idempotency_key=idempotency_key,
                )
            )
            if webhook:
                self._queue_webhook(c, job, webhook, "scheduled", now)
            row = c.execute(sa.select(jobs).where(jobs.c.id == job)).one()
        return _job(row), True

    def job(self, job_id: str, app_id: str | None = None) -> Job | None:
        query = sa.select(jobs).where(jobs.c.id == job_id)
        if app_id is not None:
            query = query.where(jobs.c.app_id == app_id)
        with self.tx() as c:
            row = c.execute(query).first()
        return None if row is None else _job(row)

    def job_by_key(self, app_id: str, idempotency_key: str) -> Job | None:
        with self.tx() as c:
            row = c.execute(
                sa.select(jobs).where(jobs.c.app_id == app_id, jobs.c.idempotency_key == idempotency_key)
            ).first()
        return None if row is None else _job(row)

    def jobs_of(self, conversation_id: str) -> list[Job]:
        with self.tx() as c:
            rows = c.execute(sa.select(jobs).where(jobs.c.conversation_id == conversation_id).order_by(jobs.c.seq))
            return [_job(r) for r in rows]

    # ---- the queue -----------------------------------------------------------------------------------------

    def claim(self, worker: str, lease_seconds: float) -> Job | None:
        """Take the oldest runnable job: scheduled, or in progress under an expired lease (its worker died). A job
        waits while an earlier job of its conversation is unfinished, so appended parts run in order."""
        now = time.time()
        earlier = jobs.alias("earlier")
        blocked = (
            sa.select(earlier.c.seq)
            .where(
                earlier.c.conversation_id == jobs.c.conversation_id,
                earlier.c.seq < jobs.c.seq,
                earlier.c.status.in_(ACTIVE),
            )
            .exists()
        )
        runnable = sa.or_(
            jobs.c.status == "scheduled", sa.and_(jobs.c.status == "in_progress", jobs.c.lease_until < now)
        )
        query = (
            sa.select(jobs)
            .where(runnable, ~blocked)
            .order_by(jobs.c.seq)
            .limit(1)
            .with_for_update(skip_locked=True, of=jobs)
        )
        with self.tx() as c:
            row = c.execute(query).first()
            if row is None:
                return None
            c.execute(
                sa.update(jobs)
                .where(jobs.c.seq == row.seq)
                .values(
                    status="in_progress",
                    worker=worker,
                    lease_until=now + lease_seconds,
                    attempts=jobs.c.attempts + 1,
                    updated_at=now,
                )
            )
            if row.status == "scheduled" and row.webhook_url:
                self._queue_webhook(c, row.id, row.webhook_url, "in_progress", now)
            claimed = c.execute(sa.select(jobs).where(jobs.c.seq == row.seq)).one()
        return _job(claimed)

    def renew(self, job_id: str, worker: str, lease_seconds: float) -> bool:
        """Extend the lease; False if the job is no longer this worker's (it was resumed elsewhere or deleted)."""
        with self.tx() as c:
            result = c.execute(
                sa.update(jobs)
                .where(jobs.c.id == job_id, jobs.c.worker == worker, jobs.c.status == "in_progress")
                .values(lease_until=time.time() + lease_seconds)
            )
            return bool(result.rowcount)

    def finish(
        self,
        job: Job,
        worker: str,
        *,
        transcript: dict[str, Any] | None = None,
        analysis: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> bool:
        """Complete (or fail, with ``error``) a job this worker holds: its transcript, the conversation's new
        analysis, the status and the webhook in one transaction. False if the job was taken from this worker."""
        now = time.time()
        status = "failed" if error else "completed"
        with self.tx() as c:
            result = c.execute(
                sa.update(jobs)
                .where(jobs.c.id == job.id, jobs.c.worker == worker, jobs.c.status == "in_progress")
                .values(status=status, error=error, lease_until=None, updated_at=now)
            )
            if not result.rowcount:
                return False
            if transcript is not None:
                c.execute(sa.delete(segments).where(segments.c.job_id == job.id))
                c.execute(
                    sa.insert(segments).values(
                        job_id=job.id, conversation_id=job.conversation_id, seq=job.seq, transcript=transcript
                    )
                )
            if analysis is not None:
                c.execute(sa.delete(analyses).where(analyses.c.conversation_id == job.conversation_id))
                c.execute(
                    sa.insert(analyses).values(conversation_id=job.conversation_id, body=analysis, updated_at=now)
                )
            if job.webhook_url:
                self._queue_webhook(c, job.id, job.webhook_url, status, now)
        return True

    # ---- conversations -------------------------------------------------------------------------------------

    def conversation(self, conversation_id: str, app_id: str) -> dict[str, Any] | None:
        with self.tx() as c:
            row = c.execute(
                sa.select(conversations).where(conversations.c.id == conversation_id, conversations.c.app_id == app_id)
            ).first()
        return None if row is None else dict(row._mapping)

    def conversations_of(
        self, app_id: str, start: float, end: float, *, descending: bool, limit: int, offset: int
    ) -> list[dict[str, Any]]:
        order = conversations.c.start_time.desc() if descending else conversations.c.start_time.asc()
        query = (
            sa.select(conversations)
            .where(
                conversations.c.app_id == app_id,
                conversations.c.start_time >= start,
                conversations.c.start_time <= end,
            )
            .order_by(order, conversations.c.id)
            .limit(limit)
            .offset(offset)
        )
        with self.tx() as c:
            return [dict(r._mapping) for r in c.execute(query)]

    def update_conversation_metadata(self, conversation_id: str, app_id: str, value: dict[str, Any]) -> bool:
        with self.tx() as c:
            result = c.execute(
                sa.update(conversations)
                .where(conversations.c.id == conversation_id, conversations.c.app_id == app_id)
                .values(metadata=value)
            )
            return bool(result.rowcount)

    def delete_conversation(self, conversation_id: str, app_id: str) -> list[str]:
        """Delete a conversation and everything of it; returns the media files to remove."""
        with self.tx() as c:
            if not c.execute(
                sa.select(conversations.c.id).where(
                    conversations.c.id == conversation_id, conversations.c.app_id == app_id
                )
            ).first():
                raise UnknownConversation(conversation_id)
            media = [
                r.media_path
                for r in c.execute(sa.select(jobs.c.media_path).where(jobs.c.conversation_id == conversation_id))
                if r.media_path
            ]
            c.execute(sa.delete(segments).where(segments.c.conversation_id == conversation_id))
            c.execute(sa.delete(analyses).where(analyses.c.conversation_id == conversation_id))
            c.execute(sa.delete(experiences).where(experiences.c.conversation_id == conversation_id))
            # Jobs stay as a record (the Job API still answers) but leave the queue.
            c.execute(
                sa.update(jobs)
                .where(jobs.c.conversation_id == conversation_id, jobs.c.status.in_(ACTIVE))
                .values(status="failed", error="conversation deleted", updated_at=time.time())
            )
            c.execute(sa.delete(conversations).where(conversations.c.id == conversation_id))
        return media

    def transcripts(self, conversation_id: str) -> list[dict[str, Any]]:
        """The completed parts' transcripts, in submission order."""
        with self.tx() as c:
            rows = c.execute(
                sa.select(segments.c.transcript)
                .where(segments.c.conversation_id == conversation_id)
                .order_by(segments.c.seq)
            )
            return [r.transcript for r in rows]

    def analysis(self, conversation_id: str) -> dict[str, Any] | None:
        with self.tx() as c:
            return c.execute(
                sa.select(analyses.c.body).where(analyses.c.conversation_id == conversation_id)
            ).scalar_one_or_none()

    def replace_analysis(self, conversation_id: str, body: dict[str, Any]) -> None:
        with self.tx() as c:
            c.execute(sa.delete(analyses).where(analyses.c.conversation_id == conversation_id))
            c.execute(sa.insert(analyses).values(conversation_id=conversation_id, body=body, updated_at=time.time()))

    def set_member(self, conversation_id: str, member: str, value: dict[str, Any]) -> None:
        with self.tx() as c:
            row = c.execute(sa.select(conversations.c.members).where(conversations.c.id == conversation_id)).first()
            if row is None:
                raise UnknownConversation(conversation_id)
            c.execute(
                sa.update(conversations)
                .where(conversations.c.id == conversation_id)
                .values(members={**row.members, member: value})
            )

    # ---- experiences ---------------------------------------------------------------------------------------

    def save_experience(
        self, experience_id: str, conversation_id: str, body: dict[str, Any], expires_at: float | None
    ) -> None:
        with self.tx() as c:
            c.execute(
                sa.insert(experiences).values(
                    id=experience_id, conversation_id=conversation_id, body=body, expires_at=expires_at
                )
            )

    def experience(self, experience_id: str) -> dict[str, Any] | None:
        with self.tx() as c:
            row = c.execute(sa.select(experiences).where(experiences.c.id == experience_id)).first()
        return None if row is None else dict(row._mapping)

    # ---- trackers ------------------------------------------------------------------------------------------

    def trackers_of(self, app_id: str, name: str | None = None) -> list[dict[str, Any]]:
        query = sa.select(trackers).where(trackers.c.app_id == app_id)
        if name is not None:
            query = query.where(trackers.c.name == name)
        with self.tx() as c:
            return [{"id": r.id, **r.body} for r in c.execute(query.order_by(trackers.c.name))]

    def tracker(self, app_id: str, tracker_id: str) -> dict[str, Any] | None:
        with self.tx() as c:
            row = c.execute(sa.select(trackers).where(trackers.c.app_id == app_id, trackers.c.id == tracker_id)).first()
        return None if row is None else {"id": row.id, **row.body}

    def create_trackers(self, app_id: str, bodies: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
        """Create all or none: a duplicate name raises DuplicateTracker; more than ``limit`` raises CapReached."""
        out = []
        with self.tx() as c:
            existing = c.execute(sa.select(sa.func.count()).select_from(trackers).where(trackers.c.app_id == app_id))
            if existing.scalar_one() + len(bodies) > limit:
                raise CapReached(limit)
            for body in bodies:
                if c.execute(
                    sa.select(trackers.c.id).where(trackers.c.app_id == app_id, trackers.c.name == body["name"])
                ).first():
                    raise DuplicateTracker(body["name"])
                tid = numeric_id()
                c.execute(sa.insert(trackers).values(id=tid, app_id=app_id, name=body["name"], body=body))
                out.append({"id": tid, **body})
        return out

    def replace_tracker(self, app_id: str, tracker_id: str, body: dict[str, Any]) -> dict[str, Any] | None:
        with self.tx() as c:
            clash = c.execute(
                sa.select(trackers.c.id).where(
                    trackers.c.app_id == app_id, trackers.c.name == body["name"], trackers.c.id != tracker_id
                )
            ).first()
            if clash:
                raise DuplicateTracker(body["name"])
            result = c.execute(
                sa.update(trackers)
                .where(trackers.c.app_id == app_id, trackers.c.id == tracker_id)
                .values(name=body["name"], body=body)
            )
        return {"id": tracker_id, **body} if result.rowcount else None

    def delete_tracker(self, app_id: str, tracker_id: str) -> bool:
        with self.tx() as c:
            result = c.execute(sa.delete(trackers).where(trackers.c.app_id == app_id, trackers.c.id == tracker_id))
            return bool(result.rowcount)

    # ---- webhooks ------------------------------------------------------------------------------------------

    def _queue_webhook(self, c: Connection, job_id: str, url: str, status: str, now: float) -> None:
        c.execute(
            sa.insert(outbox).values(
                job_id=job_id, url=url, payload={"jobId": job_id, "status": status}, next_attempt_at=now
            )
        )

    def due_webhooks(self, limit: int = 50) -> list[dict[str, Any]]:
        """Undelivered callbacks whose time has come, oldest first; one job's callbacks keep their order."""
        pending = outbox.alias("pending")
        earlier_undelivered = (
            sa.select(pending.c.id)
            .where(
                pending.c.job_id == outbox.c.job_id,
                pending.c.id < outbox.c.id,
                pending.c.delivered_at.is_(None),
                pending.c.gave_up == sa.false(),
            )
            .exists()
        )
        query = (
            sa.select(outbox)
            .where(
                outbox.c.delivered_at.is_(None),
                outbox.c.gave_up == sa.false(),
                outbox.c.next_attempt_at <= time.time(),
                ~earlier_undelivered,
            )
            .order_by(outbox.c.id)
            .limit(limit)
        )
        with self.tx() as c:
            return [dict(r._mapping) for r in c.execute(query)]

    def webhook_delivered(self, outbox_id: int) -> None:
        with self.tx() as c:
            c.execute(
                sa.update(outbox)
                .where(outbox.c.id == outbox_id)
                .values(delivered_at=time.time(), attempts=outbox.c.attempts + 1)
            )

    def webhook_failed(self, outbox_id: int, error: str, retry_at: float | None) -> None:
        """Record a failed delivery; ``retry_at`` None means give up."""
        values: dict[str, Any] = {"attempts": outbox.c.attempts + 1, "last_error": error[:500]}
        if retry_at is None:
            values["gave_up"] = True
        else:
            values["next_attempt_at"] = retry_at
        with self.tx() as c:
            c.execute(sa.update(outbox).where(outbox.c.id == outbox_id).values(**values))
