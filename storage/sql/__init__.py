"""What the SQL backends (SQLite, PostgreSQL) share: tables, migrations and the repository over SQLAlchemy."""
