"""The one table of papers: who proposed each method, read by recipes, timm tags, entries and cards.

Data only, on the ground floor (it imports nothing of ours but :mod:`errors`), so any module may
read it without an import circle. A zoo record names its paper by key (``"madry2018"``); the
leaderboard entry's ``link/authors/venue`` fields, the card's citation and RobustBench-style
model names (``<FirstAuthorYear><Keyword>_<arch>``, e.g. ``Madry2018PGDAT_2C2F``) all come from
here, so a credit is written once. Bibliographic fields are taken from the papers' own texts
(``/work/shared/papers``) and their arXiv / OpenReview pages; the two anonymous seed papers keep
"Anonymous" (their texts are double-blind submissions with no year, so their names carry no year).
"""

from __future__ import annotations

from dataclasses import dataclass

from robustbench_logits.errors import UserError

__all__ = ["PAPERS", "Paper", "get_paper", "robustbench_name"]


@dataclass(frozen=True)
class Paper:
    """Bibliographic fields RobustBench shows (``link, name, authors, venue``), plus what names need."""

    key: str
    title: str
    authors: tuple[str, ...]
    year: int | None
    venue: str
    link: str
    #: The method's short name as it appears in model names (``PGDAT``, ``TRADES``, ``BLF``).
    keyword: str

    @property
    def first_author(self) -> str:
        """The first author's family name, as RobustBench's model names start ("Madry")."""
        return self.authors[0].split()[-1] if self.authors else "Anonymous"

    @property
    def authors_text(self) -> str:
        """Authors joined as RobustBench's ``authors`` field writes them."""
        return ", ".join(self.authors)

    @property
    def citation_key(self) -> str:
        """``<FirstAuthorYear>`` (``Madry2018``); anonymous papers have no year and stay ``Anonymous``."""
        return f"{self.first_author}{self.year or ''}"

    def bibtex(self) -> str:
        """A BibTeX entry (``@inproceedings`` for a venue, ``@misc`` for preprints and submissions)."""
        kind = "misc" if self.year is None or self.venue.startswith(("arXiv", "anonymous", "under")) else "inproceedings"
        fields = [f"  title = {{{self.title}}}", f"  author = {{{' and '.join(self.authors) or 'Anonymous'}}}"]
        if self.year is not None:
            fields.append(f"  year = {{{self.year}}}")
        fields.append(f"  {'booktitle' if kind == 'inproceedings' else 'note'} = {{{self.venue}}}")
        if self.link:
            fields.append(f"  url = {{{self.link}}}")
        return f"@{kind}{{{self.citation_key.lower()}{self.keyword.lower()},\n" + ",\n".join(fields) + "\n}"


PAPERS: dict[str, Paper] = {paper.key: paper for paper in (
    # The methods our recipes train that other papers proposed.
    Paper("madry2018", "Towards Deep Learning Models Resistant to Adversarial Attacks",
          ("Aleksander Madry", "Aleksandar Makelov", "Ludwig Schmidt", "Dimitris Tsipras", "Adrian Vladu"),
          2018, "ICLR 2018", "https://arxiv.org/abs/1706.06083", "PGDAT"),
    Paper("zhang2019", "Theoretically Principled Trade-off between Robustness and Accuracy",
          ("Hongyang Zhang", "Yaodong Yu", "Jiantao Jiao", "Eric P. Xing", "Laurent El Ghaoui", "Michael I. Jordan"),
          2019, "ICML 2019", "https://arxiv.org/abs/1901.08573", "TRADES"),
    Paper("wang2020", "Improving Adversarial Robustness Requires Revisiting Misclassified Examples",
          ("Yisen Wang", "Difan Zou", "Jinfeng Yi", "James Bailey", "Xingjun Ma", "Quanquan Gu"),
          2020, "ICLR 2020", "https://openreview.net/forum?id=rklOg6EFwS", "MART"),
    Paper("wong2020", "Fast is better than free: Revisiting adversarial training",
          ("Eric Wong", "Leslie Rice", "J. Zico Kolter"),
          2020, "ICLR 2020", "https://arxiv.org/abs/2001.03994", "FastAT"),
    Paper("kannan2018", "Adversarial Logit Pairing",
          ("Harini Kannan", "Alexey Kurakin", "Ian Goodfellow"),
          2018, "arXiv, Mar 2018", "https://arxiv.org/abs/1803.06373", "ALP"),
    # The five seed papers this project packages (/work/shared/papers/INDEX.md).
    Paper("kanai2021", "Constraining Logits by Bounded Function for Adversarial Robustness",
          ("Sekitoshi Kanai", "Masanori Yamada", "Shin'ya Yamaguchi", "Hiroshi Takahashi", "Yasutoshi Ida"),
          2021, "AAAI 2021", "https://arxiv.org/abs/2010.02558", "BLF"),
    Paper("summers2019", "Improved Adversarial Robustness via Logit Regularization Methods",
          ("Cecilia Summers", "Michael J. Dinneen"),
          2019, "arXiv, Jun 2019", "https://arxiv.org/abs/1906.03749", "LogitReg"),
    Paper("li2021", "Improving Adversarial Robustness via Probabilistically Compact Loss with Logit Constraints",
          ("Xin Li", "Xiangrui Li", "Deng Pan", "Dongxiao Zhu"),
          2021, "AAAI 2021", "https://arxiv.org/abs/2012.07688", "PCLC"),
    Paper("lcat", "Improving Adversarial Robustness of DNNs via Logits Constant Amplitude Training",
          (), None, "anonymous submission", "", "LCAT"),
    Paper("lma", "Augmenting cross-entropy with margin loss and applying moving average logits regularization "
                 "to enhance adversarial robustness",
          (), None, "under double-blind review", "", "LMAAT"),
)}


def get_paper(key: str) -> Paper:
    """The paper of a key; a one-line error listing the known keys otherwise."""
    try:
        return PAPERS[key]
    except KeyError:
        raise UserError(f"unknown paper key {key!r}: one of {', '.join(PAPERS)} (robustbench_logits/papers.py)") from None


def robustbench_name(paper_key: str, arch: str, keyword: str | None = None) -> str:
    """A model name in RobustBench's ``<FirstAuthorYear><Keyword>_<arch>`` form (``Madry2018PGDAT_2C2F``).

    ``keyword`` overrides the paper's (a paper proposing several methods: ``Kanai2021LBLF_2C2F``).
    """
    paper = get_paper(paper_key)
    return f"{paper.citation_key}{keyword or paper.keyword}_{arch}"
