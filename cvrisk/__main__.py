"""``python -m cvrisk`` runs the command line."""

from cvrisk.cli import main

raise SystemExit(main())
