"""The HTTP server: the Api over FastAPI, with the same JSON objects and errors as the CLI."""
