"""Notation, numbers and escaping used by every drawing (no Graphviz needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinygrad_mlp.viz import labels


def test_symbol_in_the_three_notations():
    assert labels.symbol("w", 1, (3, 4), "unicode") == "w⁽¹⁾₃₄"
    assert labels.symbol("w", 1, (3, 4), "plain") == "w(1)_34"
    html = labels.symbol("w", 1, (3, 4), "html")
    # Graphviz 2.43 draws SUB/SUP at full size in SVG unless a smaller FONT wraps them; 11 pt
    # next to the 14 pt letter stays readable when a graph is fitted to a slide
    assert labels.SCRIPT_POINT_SIZE == 11
    assert '<FONT POINT-SIZE="11"><SUP>(1)</SUP></FONT>' in html
    assert '<FONT POINT-SIZE="11"><SUB>34</SUB></FONT>' in html


def test_two_digit_indices_are_separated():
    assert labels.symbol("w", 2, (12, 3), "plain") == "w(2)_12,3"
    assert labels.symbol("w", 2, (1, 2), "plain") == "w(2)_12"
    assert labels.symbol("w", 10, (1, 2), "unicode") == "w⁽¹⁰⁾₁₂"


@pytest.mark.parametrize("role, index, expected", [
    ("weight", (1, 3, 4), "w⁽¹⁾₃₄"),
    ("bias", (2, 1), "b⁽²⁾₁"),
    ("z", (1, 2), "z⁽¹⁾₂"),
    ("activation", (3, 1), "a⁽³⁾₁"),
    ("input", (0, 5), "x₅"),
    ("weight", (2,), "W⁽²⁾"),  # a layer's weight matrix and bias vector
    ("bias", (2,), "b⁽²⁾"),
    ("weight", (1, 3), "w⁽¹⁾₃"),  # a neuron's weight vector
])
def test_role_symbols(role, index, expected):
    assert labels.role_symbol(role, index, "unicode") == expected


def test_bias_as_w0():
    assert labels.role_symbol("bias", (2, 3), "unicode", bias="w0") == "w⁽²⁾₃₀"


def test_node_name_prefers_the_users_label():
    from tinygrad_mlp import Value

    w = Value(0.5)
    w.role, w.index = "weight", (1, 2, 1)
    assert labels.node_name(w, "unicode") == "w⁽¹⁾₂₁"
    assert labels.node_name(w, "plain", model_aware=False) == "w(1)_21"
    w.label = "<ŷ>"
    assert labels.node_name(w, "html") == "&lt;ŷ&gt;"  # escaped: shown as text
    assert labels.node_name(w, "unicode", model_aware=False) == "<ŷ>"
    assert labels.node_name(Value(1.0), "unicode") == ""


def test_unknown_roles_are_shown_as_given_and_escaped():
    assert labels.role_symbol("<gate>", (1,), "html") == "&lt;gate&gt;(1,)"


def test_html_text_escapes_markup_and_backslashes():
    assert labels.html_text('<b>&"x\'') == "&lt;b&gt;&amp;&quot;x&#x27;"
    # Graphviz expands \N (the node name) even inside HTML-like labels
    assert labels.html_text("a\\Nb") == "a\\\\Nb"
    assert labels.html_text("line\nbreak") == "line break"


def test_record_text_escapes_record_syntax():
    assert str(labels.record_text("]}{|<>")) == "]\\}\\{\\|\\<\\>"
    assert str(labels.record_text("a\\N")) == "a\\\\N"


def test_check_notation():
    assert labels.check_notation("plain") == "plain"
    with pytest.raises(ValueError, match="unknown notation 'latex'"):
        labels.check_notation("latex")


def test_format_number():
    assert labels.format_number(2.0) == "2.0000"
    assert labels.format_number(-0.5, 2) == "-0.50"
    assert labels.format_number(-0.0) == "0.0000"
    # a vanishing gradient must not read as zero
    assert labels.format_number(1.5e-7) == "1.500e-07"
    assert labels.format_number(3e8, 2) == "3.0e+08"
    assert labels.format_number(math.nan) == "nan"
    assert labels.format_number(-math.inf) == "-inf"


def test_format_array_previews_small_and_summarizes_big():
    assert labels.format_array(np.array([1.0, -2.0]), 2) == "[1.00, -2.00]"
    assert labels.format_array(np.array([[1.0, 2.0], [3.0, 4.0]]), 1) == "[[1.0, 2.0], [3.0, 4.0]]"
    big = labels.format_array(np.ones((10, 10)), 2)
    assert big == "‖·‖=10.00 mean=1.00"
    assert labels.format_value(np.zeros(0)) == "[]"


def test_user_text_is_cut_made_printable_and_encodable():
    long = "x" * 20_000
    # Graphviz refuses a label over 16,384 bytes: every escaping function stays well below
    for escape in (labels.html_text, labels.dot_text, labels.record_text,
                   lambda s: labels.text(s, "unicode")):
        out = str(escape(long))
        assert len(out.encode("utf-8")) < 16_384 and out.endswith("…")
        assert len(str(escape('"\\\\' * 10_000)).encode("utf-8")) < 16_384  # escaping grows
        out = str(escape("a\ud800b\nc\x07"))
        out.encode("utf-8")  # a lone surrogate cannot be written as UTF-8
        assert "\ufffd" in out and "\n" not in out and "\x07" not in out
    assert labels.safe_text("a\nb\x07c\ud800") == "a b\ufffdc\ufffd"
    assert labels.safe_text("abcdef", max_chars=4) == "abc…"
    assert labels.safe_text("short") == "short"


def test_expression_writes_an_unnamed_node_as_a_formula():
    from tinygrad_mlp import MLP, Value
    from tinygrad_mlp.viz.labels import expression

    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    assert expression(a * b + 1) == "a·b + 1"
    assert expression((a + b) * a) == "(a + b)·a"
    assert expression(a - (b - 1)) == "a - (b - 1)"
    assert expression(a - -1.0) == "a - (-1)"  # a negative constant is bracketed
    assert expression(Value(0.5, requires_grad=False) * a) == "0.5·a"  # a constant
    assert expression(Value(0.5) * a) == "(value 0.5000)·a"  # an unnamed parameter
    long = a
    for _ in range(20):
        long = long * b + a
    assert len(expression(long)) <= 60 and "…" in expression(long)
    y = MLP(2, [3, 1], seed=0)([0.5, -1.0])
    assert expression(y) == "b⁽²⁾₁ + w⁽²⁾₁₁·a⁽¹⁾₁ + w⁽²⁾₁₂·a⁽¹⁾₂ + w⁽²⁾₁₃·a⁽¹⁾₃"
    assert expression(y, bias="w0").startswith("w⁽²⁾₁₀ + ")
    assert expression(y, model_aware=False).startswith("b(2)_1 + ")  # default labels
