"""Alembic environment for the connector store. Run through `ml_connector.store.db.upgrade`."""

from alembic import context

from ml_connector.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
