"""Storage optimizer: scans that find wasted disk space, the operator's decisions, a restorable cleanup."""
