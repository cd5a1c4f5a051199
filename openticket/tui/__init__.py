"""The Textual marketplace (`openticket tui`): screens over the `Api` protocol only."""
