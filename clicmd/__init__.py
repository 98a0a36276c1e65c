"""`pineopt` command groups, one module each (see cli.py)."""
