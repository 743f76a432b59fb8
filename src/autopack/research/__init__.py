"""The experimental research API: sessions with notes and sources, kept in the database."""
