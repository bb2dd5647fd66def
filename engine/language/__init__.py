"""Language intelligence computed from a transcript: trackers, sentiment, topics, questions, action items and
follow-ups, entities, summary and analytics. Heavy models load in :mod:`engine.language.models`, once per worker."""
