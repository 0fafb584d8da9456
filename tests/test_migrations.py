"""The schema is managed by migrations: they build exactly what the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from conftest import PG_URL, _reset_postgres
from wapshop import create_app
from wapshop.extensions import db


def test_migrations_build_the_models_schema_and_undo_cleanly(tmp_path):
    app = create_app(
        {"TESTING": True, "DATABASE_URL": PG_URL or f"sqlite:///{tmp_path / 'm.sqlite'}"}
    )
    if PG_URL:
        _reset_postgres(app)
    with app.app_context():
        try:
            upgrade()
            with db.engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
            assert diff == []
            downgrade(revision="base")
            with db.engine.connect() as conn:
                tables = set(db.inspect(conn).get_table_names()) - {"alembic_version"}
            assert tables == set()
        finally:
            db.engine.dispose()
