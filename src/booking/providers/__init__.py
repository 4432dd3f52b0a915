"""Providers: whose diary a confirmed visit goes into. One is created with the database."""
