"""The analytics warehouse: raw table contracts, landing files, loaders and connections."""
