"""The claims of scripts/reproduce.py, one module per paper, on a small common floor.

Floors, bottom up: ``steps`` (budgets, the step cache, errors), ``text`` (cells and tables),
``claim`` (a claim's headline, registered once), ``models`` (zoo or trained here), ``measures``
(attacks' per-example outcomes, paired tests, the protocol); then the papers: ``kanai``,
``summers``, ``li``, ``lcat``, ``lma``; on top ``page`` (docs/reproduction.md).
"""

import matplotlib

matplotlib.use("Agg")  # before any module of the package imports pyplot: figures are files here
