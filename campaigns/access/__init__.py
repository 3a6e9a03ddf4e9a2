"""Who may do what: users, merchant memberships, roles, API keys and sign-in."""
