"""The month's part of the code location: records from every source, and the mapping into drafts."""


import dagster as dg

from pipelines.month.assets import journal_drafts, spend_records


def definitions() -> dg.Definitions:
    return dg.Definitions(assets=dg.with_source_code_references([spend_records, journal_drafts]))
