"""The control plane's event log and its server-sent event streams."""
