"""Dagster resources: thin ConfigurableResource wrappers that hand engine objects to assets."""
