"""The remote half of the `autopack` command line: commands that talk to a server over HTTP.

Only Typer, rich, httpx and `autopack.client` are imported here (no FastAPI, no SQLAlchemy), so a
remote command starts quickly wherever the package is installed.
"""
