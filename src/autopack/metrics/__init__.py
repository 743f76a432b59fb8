"""Prometheus metrics: `GET /metrics`, the scrape-time database gauges, the event-stream gauge."""
