"""Staff accounts, sign-in, tokens, and the desk's auth dependency."""
