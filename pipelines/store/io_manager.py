"""The I/O manager on the connector's store: step outputs are kept in the store, not pickled on local disk.

Any run worker on any machine (Docker or Kubernetes run launchers) reads what another wrote, and no
personal data sits under DAGSTER_HOME. Values are written as tagged JSON (`ml_connector.store.values`).
"""


import dagster as dg

from ml_connector.store import asset_values
from pipelines.store.resources import ConnectorStoreResource


def _where(context: dg.OutputContext | dg.InputContext) -> tuple[str, str]:
    key = context.asset_key.to_user_string()
    partition = context.asset_partition_key if context.has_asset_partitions else ""
    return key, partition


class StoreIOManager(dg.ConfigurableIOManager):
    store: ConnectorStoreResource

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        if obj is None:
            return
        key, partition = _where(context)
        size = asset_values.put(self.store.engine(), key, partition, obj, context.run_id)
        context.add_output_metadata({"stored_bytes": size})

    def load_input(self, context: dg.InputContext):
        key, partition = _where(context)
        return asset_values.get(self.store.engine(), key, partition)
