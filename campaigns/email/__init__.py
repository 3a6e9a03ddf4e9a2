"""Email marketing: templates and their gallery, layout and text part, A/B tests, send times, automations."""
