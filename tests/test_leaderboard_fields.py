from robustbench_logits.leaderboard.fields import index_ranges, markdown_cell, percent


def test_percent_as_robustbench_writes_it():
    assert percent(0.965) == "96.50"
    assert percent(1 / 3) == "33.33"
    assert percent(2 / 3) == "66.67"
    assert percent(1.0) == "100.00"
    assert percent(0.0) == "0.00"
    assert percent(None) is None


def test_index_ranges_and_markdown_cells():
    assert index_ranges([0, 1, 2, 5, 6, 9]) == "0-2, 5-6, 9"
    assert markdown_cell("A | B\nC") == "A \\| B C"
