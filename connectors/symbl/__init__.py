"""A typed async client for Symbl's Async, Job, Conversation, Experience and Trackers APIs."""

from connectors.symbl import errors, models
from connectors.symbl.client import SymblClient, sniff_content_type
from connectors.symbl.retry import retry_delay, should_retry
from connectors.symbl.settings import SymblSettings

__all__ = ["SymblClient", "SymblSettings", "errors", "models", "retry_delay", "should_retry", "sniff_content_type"]
