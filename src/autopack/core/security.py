"""Compatibility re-exports: the auth policies live in `autopack.auth.deps`."""

from autopack.auth.deps import (  # noqa: F401
    INVALID_KEY,
    KEY_REQUIRED_IN_PRODUCTION,
    verify_api_key,
    verify_read_access,
    verify_write_access,
)
