"""``python -m gatewright.compiler`` runs the command line."""

from .cli import main

main()
