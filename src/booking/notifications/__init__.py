"""The outbox, its relay, the notifiers that send email, calendar files and signed webhooks."""
