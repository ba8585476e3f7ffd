"""tinyfin's verification harness: `python -m verify` (see __main__.py).

opdb.py and ops_*.py hold the op database; checks/ the checks; report.py
the table, report.json and the HTML report."""
