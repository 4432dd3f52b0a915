"""Patient self-service: the unguessable link in every patient email."""
