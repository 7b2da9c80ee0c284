"""Storage: SQLAlchemy 2 models, repositories (all SQL lives there) and Alembic migrations."""
