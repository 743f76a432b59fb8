"""The append-only, hash-chained audit ledger (DECISIONS §5).

Other packages call `autopack.audit.service.append_event(session, ...)` inside the transaction that
makes the change they record, with details already redacted.
"""
