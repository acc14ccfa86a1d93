"""One function per CLI command: wires fleet, sources, catalog, findings and outputs together."""
