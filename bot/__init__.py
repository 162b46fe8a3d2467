"""pustakabot gateway: channel connectors, handoff, staff console and web chat."""
