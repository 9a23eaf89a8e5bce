"""fastnn's benchmark suite (pytest-benchmark), separate from ``tests/``.

Run it with ``pytest benchmarks/``; ``python -m benchmarks.report`` runs it (or
reads a saved ``--benchmark-json`` file) and prints the Markdown table of the
README's Performance section.  See ``benchmarks/README.md``.
"""
