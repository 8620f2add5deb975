"""The computation graph: :class:`Value`, :class:`Function` and ``backward()``.

Two engines keep the same contract:

* :mod:`tinygrad_mlp.engine.reference`, the one to read: ``Value``, how an operation records a
  node, and ``backward()``, written plainly in one file;
* :mod:`tinygrad_mlp.engine.fast`, the default: the same behaviour with the speed tricks listed
  at its top.

The environment variable ``TINYGRAD_MLP_ENGINE`` (``fast`` or ``reference``) chooses one for
the whole process, once, at the first import; :data:`ENGINE` names the one in use.  What both
share lives beside them: :mod:`~tinygrad_mlp.engine.function` (the ``Function`` base),
:mod:`~tinygrad_mlp.engine.registry` (one declaration per operation),
:mod:`~tinygrad_mlp.engine.arrays` (data, dtypes, broadcasting) and
:mod:`~tinygrad_mlp.engine.modes` (``no_grad`` and ``detect_anomaly``).

>>> ENGINE in ("fast", "reference")
True
"""

from __future__ import annotations

import os

from tinygrad_mlp.engine import function as _function
from tinygrad_mlp.engine import higher as _higher
from tinygrad_mlp.engine import registry as _registry
from tinygrad_mlp.engine.arrays import IndexGrad, as_data, broadcast, is_basic_index
from tinygrad_mlp.engine.function import Function
from tinygrad_mlp.engine.modes import (
    detect_anomaly,
    enable_grad,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
)

ENGINES = ("fast", "reference")

ENGINE: str = os.environ.get("TINYGRAD_MLP_ENGINE", "").strip().lower() or "fast"
if ENGINE == "fast":
    from tinygrad_mlp.engine import fast as ENGINE_MODULE
elif ENGINE == "reference":
    from tinygrad_mlp.engine import reference as ENGINE_MODULE  # type: ignore[no-redef]
else:
    raise ValueError(
        f"TINYGRAD_MLP_ENGINE={os.environ['TINYGRAD_MLP_ENGINE']!r} is not an engine; "
        "use 'fast' (the default) or 'reference' (the engine to read)"
    )

Value = ENGINE_MODULE.Value
grads_of = ENGINE_MODULE.grads_of
clear_grads = ENGINE_MODULE.clear_grads
_function.use_engine(ENGINE_MODULE)
_registry.use_engine(ENGINE_MODULE)
_higher.use_engine(ENGINE_MODULE)
grad = _higher.grad

__all__ = [
    "ENGINE",
    "Value",
    "Function",
    "grads_of",
    "clear_grads",
    "grad",
    "IndexGrad",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "is_anomaly_enabled",
    "detect_anomaly",
    "as_data",
    "broadcast",
    "is_basic_index",
]
