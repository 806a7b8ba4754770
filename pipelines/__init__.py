"""Partitions, jobs, schedules, sensors and the code location's Definitions."""

import warnings

import dagster as dg

# Code references on assets (`with_source_code_references`) are a beta in Dagster 1.13; we use them on purpose.
warnings.filterwarnings("ignore", category=dg.BetaWarning,
                        message=r"(Function `with_source_code_references`|Class `(LocalFileCodeReference|"
                                r"CodeReferencesMetadataValue)`)")
