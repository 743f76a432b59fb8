"""OAuth credential health (BUILD-189): stored credentials, health, events and background refresh."""
