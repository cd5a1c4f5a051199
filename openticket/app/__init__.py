"""The application layer: the Api and its local implementation, above the domains."""
