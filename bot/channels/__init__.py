"""Channel connectors: each knows its platform and nothing else, and hands messages to the router."""
