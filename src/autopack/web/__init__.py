"""The operator console: server-rendered pages under /ui on the same users, roles and services."""
