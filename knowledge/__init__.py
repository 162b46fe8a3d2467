"""Knowledge base: the library's catalog, e-books, events and FAQ, with search.

This package receives plain values (database URLs, folders) and imports neither `bot` nor
`actions`.
"""
