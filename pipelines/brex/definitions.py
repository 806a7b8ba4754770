"""Brex's part of the code location."""


import dagster as dg

from pipelines.brex.assets import brex_spend


def definitions() -> dg.Definitions:
    return dg.Definitions(assets=dg.with_source_code_references([brex_spend]))
