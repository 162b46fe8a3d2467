"""Rasa training data, domain and custom NLU components (loaded by the Python 3.10 Rasa runtime)."""
