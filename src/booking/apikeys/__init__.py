"""API keys: how a machine (the practice's EHR, an integration) calls the API without a
person's password. Created by admins, shown once, stored as a hash, limited by scopes,
revoked at once."""
