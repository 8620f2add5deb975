"""The browser harness itself: it sees errors, refused fetches and a working page."""

from __future__ import annotations


def test_a_clean_page_is_clean_and_runs_its_script(open_html):
    opened = open_html("<!doctype html><p id=p>0</p><script>"
                       "document.getElementById('p').textContent = 1 + 1;</script>")
    assert opened.page.text_content("#p") == "2"
    opened.assert_clean()


def test_errors_and_fetches_are_reported(open_html):
    opened = open_html("<!doctype html><img src='https://example.com/x.png'>"
                       "<script>console.error('bad'); undefined_function();</script>")
    opened.page.wait_for_timeout(200)
    problems = "\n".join(opened.problems)
    assert "console: bad" in problems
    assert "undefined_function" in problems
    assert "fetched: https://example.com/x.png" in problems
