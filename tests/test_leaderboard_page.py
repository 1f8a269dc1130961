"""The leaderboard page in a real browser: Debian's headless Chromium sorts and filters it.

Skipped where Chromium is not installed; `make browser-test` installs it and runs this file.
"""

import html
import json
import os
import re
import shutil
import subprocess

import pytest
from leaderboard_records import make_record, zoo_dir_fixture  # noqa: F401

from robustbench_logits.leaderboard import render

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Skipped where Chromium is missing, but not in CI (CI=true): there `make test` installs it, and a missing browser
# must fail, or the page's JavaScript would go untested without anyone seeing it.
pytestmark = pytest.mark.skipif(CHROMIUM is None and os.environ.get("CI") != "true",
                                reason="Chromium is not installed (make browser-test installs it)")

# Drives the page as a user would (clicks on headers, typing in the filter box, choosing a verdict),
# then writes what is visible, in order, into the DOM that --dump-dom prints.
_DRIVER = """
<script>
(function () {
  function visible() {
    return Array.prototype.filter.call(document.querySelectorAll("tr.entry"), function (row) { return !row.hidden; })
      .map(function (row) { return row.getAttribute("data-model"); });
  }
  function header(label) {
    return Array.prototype.find.call(document.querySelectorAll("th"), function (th) { return th.textContent.trim() === label; });
  }
  var out = {initial: visible()};
  header("Clean").click(); out.clean_first_click = visible();
  header("Clean").click(); out.clean_second_click = visible();
  header("Model").click(); out.model_click = visible();
  var box = document.getElementById("filter");
  box.value = "beta"; box.dispatchEvent(new Event("input")); out.filter_beta = visible();
  out.shown_text = document.getElementById("shown").textContent;
  box.value = ""; box.dispatchEvent(new Event("input"));
  var verdict = document.getElementById("verdict");
  verdict.value = "unreliable"; verdict.dispatchEvent(new Event("change")); out.verdict_unreliable = visible();
  var pre = document.createElement("pre"); pre.id = "test-result"; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


def _dump_dom(page, tmp_path):
    if CHROMIUM is None:
        pytest.fail("Chromium is missing under CI: `make test` installs it as root (apt-get install chromium)")
    profile = tmp_path / "profile"
    profile.mkdir()
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--dump-dom", page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout


def test_the_page_sorts_and_filters_in_headless_chromium(zoo_dir, tmp_path):
    unreliable = [{"name": "zero_gradients", "severity": "unreliable", "message": "zero gradients"}]
    make_record(zoo_dir, "Alpha", "cnn2c2f.alpha_mnist", clean=0.90, autoattack=0.50, worst=0.50)
    make_record(zoo_dir, "Beta", "cnn2c2f.beta_mnist", clean=0.99, autoattack=0.20, worst=0.20)
    make_record(zoo_dir, "Gamma", "cnn2c2f.gamma_mnist", clean=0.95, autoattack=0.70, worst=0.30, indicators=unreliable)
    out = tmp_path / "lb"
    render.render_leaderboard(out)
    page_html = (out / "index.html").read_text()
    assert "<script src" not in page_html and 'rel="stylesheet"' not in page_html  # nothing fetched at view time
    page = out / "driven.html"
    page.write_text(page_html.replace("</body>", _DRIVER + "</body>"))
    dom = _dump_dom(page, tmp_path)
    result = json.loads(html.unescape(re.search(r'<pre id="test-result">(.*?)</pre>', dom, re.S).group(1)))
    assert result["initial"] == ["Alpha", "Gamma", "Beta"]             # ranked by worst case
    assert result["clean_first_click"] == ["Beta", "Gamma", "Alpha"]   # numbers: highest first
    assert result["clean_second_click"] == ["Alpha", "Gamma", "Beta"]  # again: reversed
    assert result["model_click"] == ["Alpha", "Beta", "Gamma"]         # text: A-Z
    assert result["filter_beta"] == ["Beta"] and result["shown_text"] == "1 of 3 entries shown"
    assert result["verdict_unreliable"] == ["Gamma"]


def test_rows_link_to_card_entry_and_weights_and_show_intervals(zoo_dir, tmp_path):
    make_record(zoo_dir, "Alpha", "cnn2c2f.alpha_mnist", clean=0.90, autoattack=0.50, worst=0.50)
    render.render_leaderboard(tmp_path / "lb")
    dom = _dump_dom(tmp_path / "lb" / "index.html", tmp_path)
    row = re.search(r'<tr class="entry" data-model="Alpha".*?</tr>', dom, re.S).group(0)
    for text in ('href="../model_cards/mnist/Alpha.md"', 'href="mnist/Linf/Alpha.json"',
                 'href="../robustbench_logits/weights/cnn2c2f.alpha_mnist.safetensors"',
                 "[46.85, 53.15]", "reliable"):
        assert text in row, text
