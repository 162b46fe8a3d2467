"""The staff console: a sub-application at ``/console/`` (see :mod:`bot.console.app`)."""
