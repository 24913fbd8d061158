"""OTLP forwarding: every accepted export sent on to other OTLP endpoints through a bounded queue on disk."""
