"""openticket: a terminal-first ticket marketplace."""

__version__ = "0.1.0"
