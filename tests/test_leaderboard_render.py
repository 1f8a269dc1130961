import json

from leaderboard_records import SUBMISSION, make_record, submission_evaluation, zoo_dir_fixture  # noqa: F401

from robustbench_logits._files import write_json
from robustbench_logits.leaderboard import render
from robustbench_logits.leaderboard.entries import entry_from_result
from robustbench_logits.evaluation.indicators import CATALOGUE
from robustbench_logits.leaderboard.schema import validate_entry


def _accept(out, model_name, *, eps=0.3, n=1000, autoattack=0.5, **fields):
    """Store a submission as `rbl submit` would (entry + evaluation), without evaluating anything."""
    submission = SUBMISSION | {"model_name": model_name} | fields
    evaluation = submission_evaluation(autoattack, n=n, eps=eps)
    entry = entry_from_result(submission, evaluation, f"evaluations/mnist/Linf/{model_name}.json")
    write_json(out / "evaluations" / "mnist" / "Linf" / f"{model_name}.json", evaluation)
    write_json(out / "mnist" / "Linf" / f"{model_name}.json", entry)
    return entry


def test_render_writes_tables_entries_and_a_header_from_provenance(zoo_dir, tmp_path):
    make_record(zoo_dir, "Alpha", "cnn2c2f.alpha_mnist", clean=0.9, autoattack=0.2, worst=0.2, adaptive=None,
                n=300, rule="seed rule from provenance Q7", versions={"torch": "9.9.9", "pyautoattack": "7.7.7"})
    out = tmp_path / "lb"
    write_json(out / "mnist" / "Linf" / "Gone.json", json.loads(json.dumps(  # a zoo model no longer shipped
        render.zoo_entries()[0] | {"model_name": "Gone"})))
    render.render_leaderboard(out)
    table = (out / "mnist_Linf.md").read_text()
    assert "300 test examples of mnist (indices 0-299)" in table
    assert "seed rule from provenance Q7" in table and "torch 9.9.9, pyautoattack 7.7.7" in table
    assert "`autoattack/apgd-ce (seed=0, n_iter=100)`" in table
    html = (out / "index.html").read_text()
    assert "seed rule from provenance Q7" in html and '<td class="num" data-value="90.00">90.00<span class="ci">' in html
    assert '<a href="../model_cards/mnist/Alpha.md">card</a><a href="mnist/Linf/Alpha.json">entry</a>' in html
    assert '<a href="../robustbench_logits/weights/cnn2c2f.alpha_mnist.safetensors">weights</a>' in html
    assert sorted(p.name for p in (out / "mnist" / "Linf").glob("*.json")) == ["Alpha.json"]
    validate_entry(json.loads((out / "mnist" / "Linf" / "Alpha.json").read_text()))


def test_rows_carry_intervals_verdicts_ties_notes_and_what_indicators_mean(zoo_dir, tmp_path):
    bad = {"name": "zero_gradients", "severity": "unreliable", "message": "zero input gradient on 5/1000 examples"}
    note = {"name": "black_box_beats_white_box", "severity": "note", "message": "Square broke 3 examples"}
    make_record(zoo_dir, "Masked", "cnn2c2f.masked_mnist", clean=0.99, autoattack=0.80, worst=0.05, adaptive=0.05,
                indicators=[bad], converged=False)
    make_record(zoo_dir, "Noted", "cnn2c2f.noted_mnist", clean=0.95, autoattack=0.60, worst=0.58, indicators=[note])
    make_record(zoo_dir, "Near", "cnn2c2f.near_mnist", clean=0.95, autoattack=0.57, worst=0.57)
    render.render_leaderboard(tmp_path / "lb")
    table = (tmp_path / "lb" / "mnist_Linf.md").read_text()
    rows = {line.split(" | ")[1].split(" ")[0]: line for line in table.splitlines() if line.startswith("| ") and "(`cnn2c2f." in line}
    assert rows["Noted"].startswith("| 1 |") and rows["Near"].startswith("| 2 ≈ |") and rows["Masked"].startswith("| 3 |")
    assert "| **58.00** [54.87, 61.08] | reliable, with notes |" in rows["Noted"]
    assert "| **5.00** * [3.73, 6.54] | unreliable |" in rows["Masked"] and "| 99.00 [98.17, 99.52] |" in rows["Masked"]
    assert "| 5.00 [3.73, 6.54] | **5.00** *" in rows["Masked"]  # the adaptive accuracy carries its interval too
    assert "- **Noted** (note): black_box_beats_white_box: Square broke 3 examples" in table
    assert bad["message"] in table and CATALOGUE["zero_gradients"].meaning in table and CATALOGUE["black_box_beats_white_box"].meaning in table


def test_other_protocols_get_their_own_table_and_every_row_shows_eps_and_n(zoo_dir, tmp_path):
    make_record(zoo_dir, "Alpha", "cnn2c2f.alpha_mnist", clean=0.9, autoattack=0.2, worst=0.2, adaptive=None)
    out = tmp_path / "lb"
    _accept(out, "Tiny2026_CNN", eps=8 / 255, n=8, autoattack=1.0)  # 100 % on 8 examples at a tiny eps
    _accept(out, "Peer2026_CNN", autoattack=0.1)
    render.render_leaderboard(out)
    table = (out / "mnist_Linf.md").read_text()
    main, other = table.split("## Other protocol")
    assert "## Ranking: eps 0.3, suite `standard`, n = 1000" in main
    assert "| 1 | Alpha (`cnn2c2f.alpha_mnist`)" in main and "| 2 | Peer2026_CNN |" in main and "Tiny2026_CNN" not in main
    assert "eps 8/255, suite `standard`, n = 8" in other and "| 1 | Tiny2026_CNN | A defense, N/A | 2C2F | 8/255 | 8 |" in other
    for row in (line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| Rank")):
        cells = row.split(" | ")
        assert cells[4] in ("0.3", "8/255") and cells[5] in ("1000", "100", "8"), row


def test_a_pipe_in_a_name_does_not_break_the_row(zoo_dir, tmp_path):
    make_record(zoo_dir, "Alpha", "cnn2c2f.alpha_mnist", clean=0.9, autoattack=0.2, worst=0.2, adaptive=None)
    out = tmp_path / "lb"
    _accept(out, "Pipe2026_CNN", name="A | B defense", architecture="CNN|2", venue="X|Y", footnote="a|b")
    render.render_leaderboard(out)
    row = next(line for line in (out / "mnist_Linf.md").read_text().splitlines() if "Pipe2026_CNN |" in line)
    assert "A \\| B defense, X\\|Y | CNN\\|2 |" in row
    assert row.replace("\\|", "").count("|") == 14  # 13 cells


def test_render_never_removes_what_it_did_not_write(zoo_dir, tmp_path):
    make_record(zoo_dir, "Alpha", "cnn2c2f.alpha_mnist", clean=0.9, autoattack=0.2, worst=0.2, adaptive=None)
    out = tmp_path / "lb"
    accepted = _accept(out, "Sub2026_CNN")
    (out / "notes.md").parent.mkdir(parents=True, exist_ok=True)
    (out / "notes.md").write_text("# my notes\n")
    (out / "cifar10_Linf.md").write_text(render.GENERATED_MARK + " -->\nstale table of a dataset with no entry\n")
    render.render_leaderboard(out)
    render.render_leaderboard(out)
    assert json.loads((out / "mnist" / "Linf" / "Sub2026_CNN.json").read_text()) == accepted
    assert (out / "evaluations" / "mnist" / "Linf" / "Sub2026_CNN.json").is_file()
    assert (out / "notes.md").read_text() == "# my notes\n"
    assert not (out / "cifar10_Linf.md").exists()
    assert not list(out.rglob("*.partial"))
