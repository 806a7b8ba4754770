"""The mapping file as a Dagster resource."""


from pathlib import Path

import dagster as dg
from pydantic import Field

from ml_connector.errors import ConfigError
from ml_connector.mapping import MappingRules, load_rules

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "mapping.example.yaml"


class MappingResource(dg.ConfigurableResource):
    path: str = Field(default="", description="The mapping YAML file.")

    def rules(self) -> MappingRules:
        if not self.path:
            raise ConfigError("no mapping file is configured.", setting="ML_CONNECTOR_MAPPING_FILE",
                              fix=f"copy {EXAMPLE} and point ML_CONNECTOR_MAPPING_FILE at your copy")
        return load_rules(Path(self.path).expanduser())
