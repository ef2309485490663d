"""Durable webhook intake: the queue, notification parsing, and the workers that drain it."""
