"""The connector store in the Dagster shell: its resource and the I/O manager that keeps values in it."""
