"""Partitions, jobs, schedules, sensors and the code location's Definitions."""
