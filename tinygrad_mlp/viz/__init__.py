"""Drawings of the computation graph and of the network, in the course notation.

* :func:`draw_dot`: the computation graph of a Value (data and grad on every node), model-aware
  for a model's scalar graph; :func:`draw_mlp`: the neuron/layer diagram of a model;
* :func:`backward_frames`, :func:`save_frames`, :func:`animate`, :class:`Animation`: the
  backward pass step by step (a page of its own, or inline in a notebook);
* :func:`render`, :func:`to_dot`, :func:`set_notebook_format`: SVG, PNG, PDF, DOT, notebooks;
* :func:`parse_expression`: a Value from text such as ``"tanh(x*w + b)"``, parsed safely.

Rendering needs a Graphviz program: the system's ``dot`` (``apt-get install graphviz``,
``brew install graphviz``, ...) or, where it is missing, ``graphviz-pure`` from PyPI
(``pip install "tinygrad_mlp[draw]"``; no PDF).  Without either, :class:`GraphvizNotFoundError`
says how to install one, and the DOT source still works.

>>> from tinygrad_mlp import Value
>>> from tinygrad_mlp.viz import draw_dot
>>> y = (Value(2.0, label="a") * Value(-3.0, label="b")).tanh()
>>> y.backward()
>>> "tanh" in draw_dot(y).source
True
"""

from tinygrad_mlp.viz.animation import Animation, animate
from tinygrad_mlp.viz.architecture import draw_mlp
from tinygrad_mlp.viz.computation import (
    GraphTooLargeError,
    LargeGraphWarning,
    draw_dot,
)
from tinygrad_mlp.viz.expression import ExpressionError, parse_expression
from tinygrad_mlp.viz.frames import Frame, backward_frames, save_frames
from tinygrad_mlp.viz.render import (
    Drawing,
    GraphvizNotFoundError,
    render,
    set_notebook_format,
    to_dot,
)

__all__ = [
    "Animation",
    "Drawing",
    "ExpressionError",
    "Frame",
    "GraphTooLargeError",
    "GraphvizNotFoundError",
    "LargeGraphWarning",
    "animate",
    "backward_frames",
    "draw_dot",
    "draw_mlp",
    "parse_expression",
    "render",
    "save_frames",
    "set_notebook_format",
    "to_dot",
]
