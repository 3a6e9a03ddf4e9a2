"""Email pages' tabs (the lead assembles them into the Email Designer page)."""
