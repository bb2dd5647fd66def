"""MongoDB backend (PyMongo's asyncio API)."""
