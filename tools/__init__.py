"""Build tooling: never deployed, never imported by the service."""
