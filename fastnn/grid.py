"""Grids of optimizer configurations for ``fastnn sweep``.

A grid is written three ways, all read into :class:`fastnn.experiments.OptimizerConfig`
objects (the same type as the notebook's seven, so a sweep's configuration and the
seed's are built and labelled alike):

- a ``--grid`` option: ``NAME[:PARAM=V1,V2,...]...``, e.g.
  ``Adam:learning_rate=0.01,0.05:decay=0,5e-7`` (four configurations: the cartesian
  product of the values);
- a TOML or JSON file with a list ``grid`` of tables (or of such strings)::

      [[grid]]
      optimizer = "Adam"
      learning_rate = [0.01, 0.05]    # a list: one configuration per value
      decay = 5e-7                    # a scalar: the same in every configuration

- nothing: the seed notebook's seven (:data:`fastnn.experiments.SEED_CONFIGS`).

Optimizer and parameter names are accepted in either spelling (``Adam`` or
``Optimizer_Adam``, ``lr`` or ``learning_rate``, ``beta1`` or ``beta_1``).  A
parameter left out takes the default of the class named; where the notebook's and
the book's defaults differ (``RMSProp``'s learning rate) it is written out, so the
configuration means the same in both spellings.  Every problem raises
:class:`GridError` naming the specification, before anything runs.
"""
from __future__ import annotations

import ast
import inspect
import itertools
import json
import math
import os

from .experiments import SEED_CONFIGS, OptimizerConfig

__all__ = ["GridError", "parse_grid", "load_grid_file", "configs_from", "config_key",
           "OPTIMIZER_NAMES"]

# notebook class name -> book class name (the pairs of fastnn.optimizers)
_PAIRS = {"SGD": "Optimizer_SGD", "AdaGrad": "Optimizer_Adagrad",
          "RMSProp": "Optimizer_RMSprop", "Adam": "Optimizer_Adam"}
OPTIMIZER_NAMES = tuple(_PAIRS) + tuple(_PAIRS.values())
# a grid cell holds at most this many configurations: a typo such as a missing
# comma can otherwise ask for millions of runs before anything says so
MAX_CONFIGS = 10_000


class GridError(ValueError):
    """A grid specification that cannot be run; the message names the problem."""


def _signatures():
    """{name (lower case): (notebook name, [(notebook param, book param, nb default,
    book default)])}, read from fastnn's classes so the two cannot drift apart."""
    import fastnn

    table = {}
    for nb, book in _PAIRS.items():
        nb_params = list(inspect.signature(getattr(fastnn, nb)).parameters.values())
        bk_params = list(inspect.signature(getattr(fastnn, book)).parameters.values())
        # the two constructors take the same arguments in the same order (reference-api.md)
        params = [(p.name, q.name, p.default, q.default) for p, q in zip(nb_params, bk_params)]
        for name in (nb, book, nb.lower(), book.lower()):
            table[name.lower()] = (nb, book, params)
    return table


def _number(text_or_value, where):
    """A finite real number (int or float, not bool) from a literal or a parsed value."""
    value = text_or_value
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value.strip())
        except (SyntaxError, ValueError):
            raise GridError(f"{where}: {text_or_value.strip()!r} is not a number") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise GridError(f"{where}: {value!r} is not a finite number")
    return value


def _literal(value, text=None):
    """The value as it goes into the call text: the user's own spelling where there
    is one (``5e-7`` stays ``5e-7``), else Python's repr."""
    return text.strip() if text is not None else repr(value)


def _configs(name, params, where):
    """The configurations of one grid cell.  ``params``: [(param name, [(value, text)])]."""
    table = _signatures()
    try:
        nb, book, signature = table[name.strip().lower()]
    except KeyError:
        raise GridError(f"{where}: unknown optimizer {name.strip()!r}; known: "
                        f"{', '.join(OPTIMIZER_NAMES)}") from None
    named_book = name.strip().lower() == book.lower()
    by_name = {}
    for i, (p_nb, p_bk, _, _) in enumerate(signature):
        by_name[p_nb] = by_name[p_bk] = i
    chosen = {}
    for pname, values in params:
        if pname not in by_name:
            accepted = ", ".join(f"{a}/{b}" if a != b else a for a, b, _, _ in signature)
            raise GridError(f"{where}: {nb} has no parameter {pname!r}; it takes {accepted}")
        i = by_name[pname]
        if i in chosen:
            raise GridError(f"{where}: parameter {pname!r} given twice")
        if not values:
            raise GridError(f"{where}: parameter {pname!r} has no values")
        chosen[i] = values
    # a default that differs between the spellings is written out, as the class named has it
    for i, (_, _, d_nb, d_bk) in enumerate(signature):
        if i not in chosen and d_nb != d_bk:
            chosen[i] = [((d_bk if named_book else d_nb), None)]
    order = sorted(chosen)
    count = math.prod(len(chosen[i]) for i in order)
    if count > MAX_CONFIGS:
        raise GridError(f"{where}: {count} configurations, more than {MAX_CONFIGS}")
    configs = []
    for combo in itertools.product(*(chosen[i] for i in order)):
        nb_args = ", ".join(f"{signature[i][0]}={_literal(v, t)}" for i, (v, t) in zip(order, combo))
        bk_args = ", ".join(f"{signature[i][1]}={_literal(v, t)}" for i, (v, t) in zip(order, combo))
        configs.append(OptimizerConfig(f"{nb}({nb_args})", f"{book}({bk_args})"))
    for cfg in configs:  # a value the optimizer itself rejects is found now, not on a worker
        try:
            cfg.make(__import__("fastnn"))
        except (TypeError, ValueError) as exc:
            raise GridError(f"{where}: {cfg.label}: {exc}") from None
    return configs


def parse_grid(spec):
    """The configurations of one ``--grid`` specification ``NAME[:PARAM=V1,V2,...]...``."""
    where = f"grid {spec!r}"
    if not isinstance(spec, str) or not spec.strip():
        raise GridError(f"{where}: empty; expected NAME[:PARAM=V1,V2,...]..., e.g. "
                        "Adam:learning_rate=0.01,0.05:decay=0,5e-7")
    name, *parts = spec.split(":")
    if name.strip().endswith(")"):  # "SGD()" / "SGD(decay=1e-3)": the notebook's call text
        return _from_call(spec, where)
    params = []
    for part in parts:
        key, eq, values = part.partition("=")
        if not eq or not key.strip():
            raise GridError(f"{where}: {part!r} is not PARAM=V1,V2,... (parts are separated "
                            "by ':', values by ',')")
        items = values.split(",")
        params.append((key.strip(), [(_number(v, f"{where}, {key.strip()}"), v) for v in items]))
    return _configs(name, params, where)


def _from_call(text, where):
    """A call as the notebook or the book writes it: ``Adam(lr=0.05, decay=5e-7)``."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.args
                and all(k.arg for k in node.keywords)):
            raise ValueError
    except (SyntaxError, ValueError):
        raise GridError(f"{where}: not NAME[:PARAM=V1,V2,...]... nor a call "
                        "NAME(param=value, ...)") from None
    params = [(k.arg, [(_number(ast.get_source_segment(text.strip(), k.value), f"{where}, {k.arg}"),
                        ast.get_source_segment(text.strip(), k.value))]) for k in node.keywords]
    return _configs(node.func.id, params, where)


def _from_table(entry, where):
    if isinstance(entry, str):
        return parse_grid(entry)
    if not isinstance(entry, dict):
        raise GridError(f"{where}: expected a table or a string, got {type(entry).__name__}")
    entry = dict(entry)
    name = entry.pop("optimizer", None)
    if not isinstance(name, str):
        raise GridError(f"{where}: needs optimizer = \"NAME\" (one of {', '.join(_PAIRS)})")
    params = []
    for key, values in entry.items():
        values = values if isinstance(values, list) else [values]
        params.append((key, [(_number(v, f"{where}, {key}"), None) for v in values]))
    return _configs(name, params, where)


def load_grid_file(path):
    """The configurations of a TOML (``.toml``) or JSON file with a list ``grid``."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise GridError(f"cannot read grid file {path}: {exc.strerror or exc}") from None
    try:
        if os.path.splitext(path)[1].lower() == ".toml":
            import tomllib
            data = tomllib.loads(raw.decode("utf-8"))
        else:
            data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:  # TOMLDecodeError, JSONDecodeError
        raise GridError(f"grid file {path}: {exc}") from None
    grid = data.get("grid") if isinstance(data, dict) else None
    if not isinstance(grid, list) or not grid:
        raise GridError(f"grid file {path}: needs a non-empty list 'grid' of tables "
                        "([[grid]] in TOML), each with optimizer = \"NAME\" and its parameters")
    return [c for i, e in enumerate(grid) for c in _from_table(e, f"grid file {path}, entry {i + 1}")]


def configs_from(grids=(), files=()):
    """The configurations of ``--grid`` specs and grid files, in order and without
    repeats (two spellings of one configuration run once); none given: the seed's seven."""
    configs = [c for f in files for c in load_grid_file(f)]
    configs += [c for g in grids for c in parse_grid(g)]
    if not grids and not files:
        return list(SEED_CONFIGS)
    unique = {}
    for c in configs:
        unique.setdefault(config_key(c), c)
    return list(unique.values())


def config_key(cfg):
    """What makes two configurations the same run: the notebook class and its
    keyword values as floats (``decay=0`` and ``decay=0.0`` are one)."""
    return (cfg.class_name("notebook"),
            tuple(sorted((k, float(v)) for k, v in cfg.kwargs("notebook").items())))
