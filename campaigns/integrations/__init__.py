"""Integrations with the merchant's other systems: outbound webhooks signed as the Standard Webhooks specification says."""
