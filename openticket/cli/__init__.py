"""The Typer CLI: commands parse options, call the Api, and render. Nothing heavy at import."""
