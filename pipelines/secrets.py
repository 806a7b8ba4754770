"""Secrets for resources: the resource's own field (an EnvVar), else the store's vault."""


from pipelines.store.resources import ConnectorStoreResource


def secret(value: str, store: ConnectorStoreResource, system: str, name: str) -> str:
    """`value` when set; otherwise what the vault holds for (system, name), or ""."""
    if value:
        return value
    vault = store.vault()
    return (vault.get(system, name) if vault is not None else None) or ""


def timeout(seconds: float) -> tuple[float, float]:
    """(connect, read) timeouts for every client."""
    return (min(5.0, seconds), seconds)
