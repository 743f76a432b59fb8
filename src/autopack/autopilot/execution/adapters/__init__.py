"""Platform adapters: `sandbox` (database-backed, the default), Meta Marketing API, Google Ads."""
