"""Importers that bring catalog records, e-books and events into the knowledge base."""
