"""The event bus port and its adapters."""
