import pytest

from robustbench_logits.errors import UserError
from robustbench_logits.papers import PAPERS, get_paper, robustbench_name


def test_baselines_credit_the_papers_that_proposed_them():
    assert (PAPERS["madry2018"].first_author, PAPERS["madry2018"].venue) == ("Madry", "ICLR 2018")
    assert (PAPERS["zhang2019"].first_author, PAPERS["zhang2019"].venue) == ("Zhang", "ICML 2019")
    assert (PAPERS["wang2020"].first_author, PAPERS["wang2020"].venue) == ("Wang", "ICLR 2020")
    assert PAPERS["wong2020"].year == 2020
    assert not any("Kanai" in author for key in ("madry2018", "zhang2019", "wang2020") for author in PAPERS[key].authors)


def test_names_follow_robustbench_first_author_year_keyword_arch():
    assert robustbench_name("madry2018", "2C2F") == "Madry2018PGDAT_2C2F"
    assert robustbench_name("kanai2021", "2C2F", "LBLF") == "Kanai2021LBLF_2C2F"
    assert robustbench_name("lcat", "2C2F") == "AnonymousLCAT_2C2F"  # a double-blind text has neither author nor year


def test_bibtex_uses_the_papers_venue_and_unknown_keys_are_one_line_errors():
    assert "booktitle = {ICML 2019}" in PAPERS["zhang2019"].bibtex()
    assert PAPERS["lma"].bibtex().startswith("@misc{anonymouslmaat,")
    with pytest.raises(UserError, match="unknown paper key 'nope': one of madry2018"):
        get_paper("nope")
