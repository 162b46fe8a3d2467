"""Custom Rasa NLU components for Indonesian patrons' messages."""
