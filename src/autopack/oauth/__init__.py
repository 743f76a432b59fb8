"""OAuth credential health: stored credentials, health, events and background refresh."""
