"""The leaderboard: entries in RobustBench's ``model_info`` format, ranked tables, model cards.

One concept per module, each on the floor its imports justify (lowest first):

- :mod:`.fields` - how numbers are written (percent strings, example index ranges, flag meanings);
- :mod:`.schema` - the JSON Schemas of entries and submissions and their one-line errors;
- :mod:`.entries` - deriving an entry from a zoo record or a submission's evaluation;
- :mod:`.ranking` - protocols (what must agree for numbers to be compared) and the ranking;
- :mod:`.equal_budget` - zoo models trained on one fixed budget, compared pair by pair;
- :mod:`.store` - the on-disk leaderboard: layout, lock, atomic writes, history;
- :mod:`.templating` - the package's jinja2 templates;
- :mod:`.render` and its sibling :mod:`.cards` - tables, the HTML page, model cards;
- :mod:`.submit` and :mod:`.compare` - the workflows behind ``rbl submit`` and ``rbl compare``.

The package imports none of them itself: ``import robustbench_logits.leaderboard.entries`` pulls
neither torch nor the evaluation.
"""
