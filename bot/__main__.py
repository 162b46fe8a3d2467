"""``python -m bot`` runs the pustakabot CLI."""

from bot.cli import main

main()
