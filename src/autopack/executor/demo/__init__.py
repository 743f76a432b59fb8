"""`make demo`: a server on SQLite, the example run, and the executor with a scripted builder and auditor."""
