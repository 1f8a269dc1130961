"""``rbl compare``: a user's model and the zoo, evaluated with one suite, eps, example set and seed."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from robustbench_logits import zoo
from robustbench_logits.eps import check_eps
from robustbench_logits.errors import UserError
from robustbench_logits.evaluation import EvaluationSuite, benchmark, load_model_for_eval
from robustbench_logits.leaderboard.entries import intervals, verdict_of
from robustbench_logits.leaderboard.fields import percent
from robustbench_logits.leaderboard.ranking import protocol_groups
from robustbench_logits.leaderboard.templating import render_template
from robustbench_logits.models.pretrained import load_model as load_zoo_model

__all__ = ["Comparison", "compare_with_zoo"]


@dataclass
class Comparison:
    """One user model and the zoo models of a dataset, evaluated with the same suite, eps, examples and seed."""

    dataset: str
    threat_model: str
    eps: float
    n_examples: int
    seed: int
    results: dict[str, dict[str, Any]]  # model name -> BenchmarkResult.to_dict()
    candidate: str

    def rows(self) -> list[dict[str, Any]]:
        """Ranked table rows (percent strings, 95 % intervals, verdicts), the candidate marked.

        Ranked by worst case after escalation as the leaderboard is; ``tied`` marks a row whose
        worst-case interval overlaps the one above it.
        """
        rows = []
        for name, result in self.results.items():
            verdict = verdict_of(result)
            rows.append({"model": name, "candidate": name == self.candidate,
                         **{key: percent(result.get(key)) for key in ("clean_acc", "autoattack_acc", "adaptive_acc", "worst_case_acc")},
                         "ci95": intervals(result), "unreliable": verdict["unreliable"], "verdict": verdict["verdict"],
                         "indicators": sorted(i["name"] for i in verdict["indicators"])})
        rows.sort(key=lambda r: (-float(r["worst_case_acc"]), -float(r["clean_acc"]), r["model"]))
        for index, row in enumerate(rows):
            above = rows[index - 1]["ci95"]["worst_case_acc"] if index else None
            row["tied"] = above is not None and float(row["ci95"]["worst_case_acc"][1]) >= float(above[0])
        return rows

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the setting, the ranked rows and every full result."""
        return {"dataset": self.dataset, "threat_model": self.threat_model, "eps": self.eps,
                "n_examples": self.n_examples, "seed": self.seed, "candidate": self.candidate,
                "rows": self.rows(), "results": self.results}

    def to_markdown(self) -> str:
        """The comparison table with the protocol it ran under."""
        return render_template("compare.md.j2", comparison=self, rows=self.rows(),
                               protocols=protocol_groups(self.results))


def compare_with_zoo(
    model_spec: str,
    dataset: str = "mnist",
    n_examples: int = 1000,
    eps: float | str | None = None,
    threat_model: str = "Linf",
    suite: str | EvaluationSuite = "standard",
    *,
    weights: str | os.PathLike | None = None,
    seed: int = 0,
    batch_size: int = 250,
    device: str | None = None,
    data_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> Comparison:
    """Benchmark ``model_spec`` (a .py file defining ``model`` or ``create_model()``, see
    :func:`~robustbench_logits.evaluate.load_model_for_eval`) and every zoo model of ``dataset``
    with one suite, eps, example set and seed; checks the example indices really are identical."""
    eps = None if eps is None else check_eps(eps, threat_model)
    names = zoo.list_models(dataset=dataset, threat_model=threat_model)
    if not names:
        raise UserError(f"the zoo has no {dataset} {threat_model} model to compare against: `rbl zoo` lists them")
    candidate, candidate_name, candidate_sha = load_model_for_eval(model_spec, dataset, weights)
    if candidate_name in names:
        candidate_name = f"{candidate_name} (yours)"
    models = [(candidate_name, candidate, candidate_sha)] + [(n, load_zoo_model(n, dataset=dataset), zoo.get_entry(n, dataset=dataset).sha256) for n in names]
    results = {}
    for name, model, sha256 in models:
        results[name] = benchmark(model, dataset=dataset, threat_model=threat_model, eps=eps, n_examples=n_examples,
                                  suite=suite, device=device, batch_size=batch_size, seed=seed, data_dir=data_dir,
                                  model_name=name, weights_sha256=sha256, progress=progress).to_dict()
    indices = {name: r["provenance"]["dataset"]["example_indices"] for name, r in results.items()}
    if len({tuple(v) for v in indices.values()}) != 1:  # benchmark takes the first n: a change there must not pass silently
        raise RuntimeError(f"models were evaluated on different examples: {indices}")
    first = results[candidate_name]
    return Comparison(dataset, threat_model, first["eps"], first["n_examples"], seed, results, candidate_name)
