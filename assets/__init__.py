"""Dagster assets: each fetches through a resource, calls the engine, and reports metadata."""
