"""Run the command line with `python -m dsqa`."""

from .cli import main

main()
