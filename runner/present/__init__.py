"""Turning results into words: text, JSON, JUnit, notes, error explanations."""
