"""callscope storage: one async repository interface over SQLite, PostgreSQL, MongoDB and Google Datastore."""

from storage.errors import (
    IllegalTransition,
    InvalidInput,
    MissingExtra,
    NotFound,
    StatusConflict,
    StorageError,
    TerminalStorageError,
    TransientStorageError,
)
from storage.models import (
    ACTIVE,
    BusinessUX,
    Experience,
    Intelligence,
    IntelligenceApi,
    NewRecording,
    Recording,
    Registration,
    Request,
    RequestStatus,
    Speaker,
)
from storage.registry import DEFAULT_URL, capabilities_for, open_repository
from storage.repository import Capabilities, Repository

__all__ = [
    "ACTIVE",
    "DEFAULT_URL",
    "BusinessUX",
    "Capabilities",
    "Experience",
    "IllegalTransition",
    "Intelligence",
    "IntelligenceApi",
    "InvalidInput",
    "MissingExtra",
    "NewRecording",
    "NotFound",
    "Recording",
    "Registration",
    "Repository",
    "Request",
    "RequestStatus",
    "Speaker",
    "StatusConflict",
    "StorageError",
    "TerminalStorageError",
    "TransientStorageError",
    "capabilities_for",
    "open_repository",
]
