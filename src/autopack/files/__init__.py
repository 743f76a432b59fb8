"""File upload: multipart bodies streamed to disk with a size limit and a SHA-256."""
