"""Results back to the store: what each campaign achieved, day by day, for its page and for Ava."""
