"""The mapping file as a Dagster resource."""

from pathlib import Path

import dagster as dg

from ml_connector.errors import ConfigError
from ml_connector.mapping import MappingRules, load_rules
from ml_connector.settings import load_settings

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "mapping.example.yaml"


class MappingResource(dg.ConfigurableResource):
    """Rules from `path`, else ML_CONNECTOR_MAPPING_FILE."""

    path: str = ""

    def rules(self) -> MappingRules:
        path = self.path or (str(load_settings().mapping_file or ""))
        if not path:
            raise ConfigError("no mapping file is configured.", setting="ML_CONNECTOR_MAPPING_FILE",
                              fix=f"copy {EXAMPLE} and point ML_CONNECTOR_MAPPING_FILE at your copy")
        return load_rules(Path(path).expanduser())
