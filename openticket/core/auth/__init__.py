"""Auth: users, password hashes, signed and revocable tokens."""
