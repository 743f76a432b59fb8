"""Identity: users, JWTs, API keys and the principal of each request."""
