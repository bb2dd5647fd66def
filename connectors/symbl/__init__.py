"""connectors/symbl package."""
