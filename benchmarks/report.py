"""Markdown report of fastnn's benchmark suite.

    python -m benchmarks.report                     # run the suite, print the tables
    python -m benchmarks.report --save bench.json   # ... and keep pytest-benchmark's JSON
    python -m benchmarks.report --json bench.json   # tables from a saved --benchmark-json file
    python -m benchmarks.report --json all.json rerun.json   # rerun rows replace the first file's
    python -m benchmarks.report -- -k "epoch or ch19"   # extra arguments for pytest
    python -m benchmarks.report --quiet-wait 30     # wait for a quiet CPU before each benchmark

The Markdown goes to stdout (pytest's own output, when the suite runs, to
stderr), so ``python -m benchmarks.report > perf.md`` captures just the tables.

Times are pytest-benchmark's per-call **median** (``--stat min`` to use the
minimum).  ``speedup`` is reference time / fastnn time; ``vs torch`` is torch
time / fastnn time (above 1: fastnn is faster).  ``roofline`` is, for the
optimizer updates, (bytes the update must move / bandwidth of a one-pass copy
or triad measured in the same run) / fastnn time.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import shlex
import subprocess
import sys
import tempfile

BENCH_DIR = pathlib.Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
# sections of the main table, in order; sections other helpers add (with the same
# extra_info keys) follow them, before the start-up and bandwidth tables
TABLE_SECTIONS = ["epoch", "model", "ch19", "op", "optimizer"]
SPECIAL_SECTIONS = ["startup", "bandwidth"]
# a row's median above this multiple of its minimum is flagged as disturbed
NOISE_RATIO = 1.5
# ... and so is a row that started while other processes kept this many cores busy
BUSY_CORES = 0.3

# Targets (fastnn's performance goals)
EPOCH_SPEEDUP = 8.0
ROOFLINE_FRACTION = 0.80
TORCH_OPT_FACTOR = 1.25
CH19_SPEEDUP = 3.0
WARM_STARTUP_S = 1.0
COLD_COMPILE_S = 20.0


# ----------------------------------------------------------------- formatting

def fmt_time(t):
    if t is None:
        return ""
    if t >= 1:
        return f"{t:.2f} s"
    if t >= 1e-3:
        return f"{t * 1e3:.3g} ms"
    return f"{t * 1e6:.3g} µs"


def fmt_ratio(r):
    if r is None:
        return ""
    return f"{r:.1f}x" if r >= 10 else f"{r:.2f}x"


def fmt_frac(f):
    return "" if f is None else f"{100 * f:.0f}%"


def fmt_bw(b):
    return "" if b is None else f"{b / 1e9:.1f} GB/s"


# ------------------------------------------------------------------- grouping

def _stat(b, stat):
    s = b.get("stats") or {}
    return s.get(stat)


def collect(benchmarks, stat="median"):
    """{(section, operation, size, dtype): {impl: benchmark dict + 't'}} and the unknown ones."""
    groups, other = {}, []
    for b in benchmarks:
        ei = b.get("extra_info") or {}
        t = _stat(b, stat)
        if "section" not in ei or t is None:
            if t is not None:
                other.append(b)
            continue
        key = (ei["section"], ei["operation"], ei["size"], ei["dtype"])
        d = dict(b)
        d["t"] = t
        groups.setdefault(key, {})[ei["impl"]] = d
    return groups, other


def _sorted_keys(groups, section):
    """Keys of one section: operations and sizes in the order the suite ran them."""
    keys = [k for k in groups if k[0] == section]
    ops, sizes = {}, {}
    for k in keys:
        ops.setdefault(k[1], len(ops))
        sizes.setdefault(k[2], len(sizes))
    return sorted(keys, key=lambda k: (ops[k[1]], sizes[k[2]], k[3]))


def _pick(rows, impl):
    """The row of ``impl``; else the only row whose impl starts with it (e.g. a
    helper's "fastnn Model.train"), never the bare-kernel row."""
    if impl in rows:
        return rows[impl]
    cands = [k for k in rows if k.startswith(impl) and k != "kernel"]
    if not cands and impl == "reference":  # some groups call the twin by that name
        cands = [k for k in rows if k.startswith("twin")]
    if len(cands) > 1 and f"{impl} Model.train" in cands:  # beside fastnn's general path
        return rows[f"{impl} Model.train"]
    return rows[cands[0]] if len(cands) == 1 else None


def _t(rows, impl):
    r = _pick(rows, impl)
    return None if r is None else r["t"]


def _noisy(rows, impl):
    r = _pick(rows, impl)
    if r is None:
        return False
    s = r.get("stats") or {}
    ei = r.get("extra_info") or {}
    if max(ei.get("other_cpu_cores") or 0, ei.get("other_cpu_cores_during") or 0) >= BUSY_CORES:
        return True
    return bool(s.get("min")) and s.get("median", 0) > NOISE_RATIO * s["min"]


def _ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def main_rows(groups):
    """Rows of the main table: (section, operation, size, dtype, fastnn, kernel, ref,
    speedup, torch, torch label, vs torch, roofline, bandwidth)."""
    out = []
    extra_sections = [k[0] for k in groups if k[0] not in TABLE_SECTIONS + SPECIAL_SECTIONS]
    for section in TABLE_SECTIONS + list(dict.fromkeys(extra_sections)):
        for key in _sorted_keys(groups, section):
            rows = groups[key]
            _, op, size, dtype = key
            tf, tk, tr = _t(rows, "fastnn"), _t(rows, "kernel"), _t(rows, "reference")
            torch_impl = "torch" if "torch" in rows else ("torch-fused" if "torch-fused" in rows else None)
            tt = _t(rows, torch_impl) if torch_impl else None
            ei = (_pick(rows, "fastnn") or {}).get("extra_info", {})
            f_impl = next((k for k in rows if k.startswith("fastnn")), "fastnn")
            r_impl = next((k for k in rows if k.startswith(("reference", "twin"))), "reference")
            if (f_impl, r_impl) != ("fastnn", "reference"):
                op = f"{op} [{f_impl} vs {r_impl}]"
            per = ei.get("epochs_per_call")
            if per:  # a benchmark of several epochs per call: show per-epoch times
                tf, tr, tt, tk = (None if v is None else v / per for v in (tf, tr, tt, tk))
                size = f"{size}, per epoch ({per}/call)"
            noisy = [name for name, impl in (("fastnn", "fastnn"), ("reference", "reference"),
                                             ("torch", torch_impl)) if impl and _noisy(rows, impl)]
            roof = ei.get("roofline_fraction")
            troof = ((_pick(rows, torch_impl) or {}).get("extra_info", {}).get("roofline_fraction")
                     if torch_impl else None)
            row = dict(section=section, operation=op, size=size, dtype=dtype, fastnn=tf,
                       kernel=tk, reference=tr, speedup=_ratio(tr, tf), torch=tt,
                       torch_impl=torch_impl, vs_torch=_ratio(tt, tf), roofline=roof,
                       torch_roofline=troof, bandwidth=ei.get("bandwidth"), rows=rows,
                       noisy=noisy, vs_torch_alternated=False)
            h = _h2h(row)
            if h and h.get("torch") and h.get("fastnn"):
                row["vs_torch"] = h["torch"] / h["fastnn"]
                row["vs_torch_alternated"] = True
            out.append(row)
    return out


# -------------------------------------------------------------------- targets

def targets(groups):
    """[(met: bool|None, description, detail)] for fastnn's performance targets."""
    res = []
    rows = main_rows(groups)

    def check(desc, items, ok, detail):
        if not items:
            res.append((None, desc, "not measured"))
            return
        bad = [i for i in items if not ok(i)]
        res.append((not bad, desc, detail(items, bad)))

    epoch = [r for r in rows if r["section"] == "epoch" and r["speedup"] is not None]

    def epoch_detail(items, bad):
        s = "; ".join(f"{_short(r)} {fmt_ratio(r['speedup'])}" for r in items)
        bounds = [(r, _ratio(r["reference"], _t(r["rows"], "floor"))) for r in items
                  if "floor" in r["rows"]]
        if bounds:
            s += (". Bound: the same loop on classes that only allocate their results and "
                  "move their bytes (benchmarks/_floor.py) reaches " + "; ".join(
                      f"{_short(r)} {fmt_ratio(b)}" for r, b in bounds))
        return s

    check(f"Seed epoch through the per-op API >= {EPOCH_SPEEDUP:g}x the NumPy twin "
          "(both dtypes, all optimizers)", epoch,
          lambda r: r["speedup"] >= EPOCH_SPEEDUP, epoch_detail)

    opt10 = [r for r in rows if r["section"] == "optimizer" and r["size"].startswith("10M")]
    roof = [r for r in opt10 if r["roofline"] is not None]
    check(f"Optimizer updates on 10M params >= {ROOFLINE_FRACTION:.0%} of the measured memory "
          "roofline (all, both dtypes)", roof,
          lambda r: r["roofline"] >= ROOFLINE_FRACTION,
          lambda items, bad: "; ".join(
              f"{_short(r)} {fmt_frac(r['roofline'])}"
              + (f" (torch {fmt_frac(r['torch_roofline'])})" if r["torch_roofline"] else "")
              for r in items))
    vt = [r for r in opt10 if r["vs_torch"] is not None]

    def opt_ratio(r):  # fastnn time / torch time, alternated if measured so
        h = _h2h(r)
        return h["fastnn"] / h["torch"] if h else r["fastnn"] / r["torch"]

    check(f"Optimizer updates on 10M params no slower than {TORCH_OPT_FACTOR:g}x torch's fused "
          "CPU optimizers (fastnn time / torch time <= 1.25; timed alternately, the table's "
          "separate medians in brackets)", vt,
          lambda r: opt_ratio(r) <= TORCH_OPT_FACTOR,
          lambda items, bad: "; ".join(
              f"{_short(r)} {opt_ratio(r):.2f} ({r['fastnn'] / r['torch']:.2f})"
              + (" [torch foreach: no fused RMSprop]" if "RMSProp" in r["operation"] else "")
              for r in items))

    ch19 = [r for r in rows if r["section"] == "ch19"]

    def ch19_t(r, impl):
        h = _h2h(r)
        return h[impl] if h and impl in h else _t(r["rows"], impl)

    check(f"Ch19-shaped step >= {CH19_SPEEDUP:g}x the NumPy twin (timed alternately; the "
          "table's separate medians in brackets)",
          [r for r in ch19 if r["speedup"] is not None],
          lambda r: ch19_t(r, "reference") / ch19_t(r, "fastnn") >= CH19_SPEEDUP,
          lambda items, bad: "; ".join(
              f"{r['dtype']} {fmt_ratio(ch19_t(r, 'reference') / ch19_t(r, 'fastnn'))} "
              f"({fmt_ratio(r['speedup'])})" + _gflops(r) for r in items))
    eager = [r for r in ch19 if _t(r["rows"], "torch") is not None]

    def same_threads(r):
        """(fastnn, torch) pairs at equal thread counts, from the alternated timings:
        fastnn's default (one BLAS thread for products of these sizes) against
        torch at one thread, and with ``set_blas_thread_policy(0)`` against torch's
        default; older runs without them: fastnn against torch's default."""
        h = _h2h(r) or {}
        if "torch, 1 thread" in h and "fastnn, BLAS's own threads" in h:
            return [("1 thread", h["fastnn"], h["torch, 1 thread"]),
                    ("BLAS's/torch's own threads", h["fastnn, BLAS's own threads"], h["torch"])]
        return [("", ch19_t(r, "fastnn"), ch19_t(r, "torch"))]

    check("Ch19-shaped step no slower than PyTorch eager at the same thread count (timed "
          "alternately; the table's separate medians in brackets)", eager,
          lambda r: all(f <= t for _, f, t in same_threads(r)),
          lambda items, bad: "; ".join(
              f"{r['dtype']} " + ", ".join(
                  (f"{label}: " if label else "") + f"fastnn {fmt_time(f)} vs torch "
                  f"{fmt_time(t)}: {fmt_ratio(t / f)}" for label, f, t in same_threads(r))
              + f" ({fmt_ratio(_t(r['rows'], 'torch') / r['fastnn'])})"
              + (f"; fused Adam {fmt_time(ch19_t(r, 'torch-fused'))}"
                 if ch19_t(r, "torch-fused") else "")
              for r in items))

    warm = [(k, g) for k, g in groups.items() if k[0] == "startup" and "first step" in k[1]
            and k[2].startswith("warm") and "fastnn" in g]
    check(f"Warm-cache start-up (fresh process: import + first step) <= {WARM_STARTUP_S:g} s",
          warm, lambda kg: kg[1]["fastnn"]["t"] <= WARM_STARTUP_S,
          lambda items, bad: "; ".join(
              f"{k[3]} {fmt_time(g['fastnn']['t'])} (in-process "
              f"{fmt_time(g['fastnn']['extra_info'].get('in_process_s'))})" for k, g in items))
    cold = [(k, g) for k, g in groups.items() if k[0] == "startup" and "each seed" in k[1]
            and k[2].startswith("cold") and "fastnn" in g]
    check(f"Cold compile of everything the seed's loop uses <= {COLD_COMPILE_S:g} s "
          "(fresh process, empty NUMBA_CACHE_DIR)", cold,
          lambda kg: kg[1]["fastnn"]["t"] <= COLD_COMPILE_S,
          lambda items, bad: "; ".join(
              f"{k[3]} {fmt_time(g['fastnn']['t'])}" + _compile_share(groups, k, g)
              for k, g in items))
    return res


def _h2h(r):
    """The alternated timings a group's torch row recorded, if any and undisturbed.

    If other processes kept the machine busy meanwhile and the separately timed
    rows are clean, the latter are used instead (None here)."""
    for impl in ("torch", "torch-fused"):
        h = (r["rows"].get(impl) or {}).get("extra_info", {}).get("head_to_head")
        if h:
            if (h.get("other_cpu_cores_during") or 0) >= BUSY_CORES and not r["noisy"]:
                return None
            return h
    return None


def _gflops(r):
    ei = (_pick(r["rows"], "fastnn") or {}).get("extra_info", {})
    if not ei.get("flops") or not r["fastnn"]:
        return ""
    rate = lambda t: ei["flops"] / t / 1e9  # noqa: E731
    s = f" (matrix products {ei['flops'] / 1e6:.1f} MFLOP: fastnn {rate(r['fastnn']):.0f} GFLOP/s"
    if r["reference"]:
        s += f", reference {rate(r['reference']):.0f}"
    return s + ")"


def _compile_share(groups, key, g):
    warm = groups.get((key[0], key[1], key[2].replace("cold", "warm"), key[3]), {}).get("fastnn")
    if not warm:
        return ""
    return f" (compiling: cold - warm = {fmt_time(g['fastnn']['t'] - warm['t'])})"


def _short(r):
    op = r["operation"].replace("seed epoch, ", "").replace(" update", "")
    return f"{op} {r['dtype']}"


# ------------------------------------------------------------------- markdown

def machine_lines(data):
    mi = data.get("machine_info") or {}
    fx = mi.get("fastnn") or {}
    cpu = (mi.get("cpu") or {}).get("brand_raw") or mi.get("processor") or "unknown CPU"
    lines = [
        f"- Machine: {cpu}, {fx.get('cpu_count', '?')} cores; {fx.get('platform', mi.get('system', ''))}",
        f"- Python {fx.get('python', mi.get('python_version', '?'))}, NumPy {fx.get('numpy', '?')} "
        f"({fx.get('numpy_blas', '?')}), Numba {fx.get('numba', '?')} "
        f"({fx.get('numba_threads', '?')} threads, {fx.get('numba_threading_layer') or '?'} layer)"
        + (f", PyTorch {fx['torch']} CPU ({fx.get('torch_threads')} threads)"
           if fx.get("torch") else ", PyTorch not installed"),
    ]
    la0, la1 = fx.get("loadavg_start"), fx.get("loadavg_end")
    if la0 or la1:
        f = lambda la: "/".join(f"{x:.2f}" for x in la) if la else "?"  # noqa: E731
        lines.append(f"- Load average (1/5/15 min) at start {f(la0)}, at end {f(la1)}")
    if data.get("datetime"):
        lines.append(f"- Measured {data['datetime'][:19].replace('T', ' ')} UTC"
                     + (f" (merged from {len(data['merged_from'])} runs: later runs replace "
                        "the rows they repeat)" if data.get("merged_from") else ""))
    return lines


def _headline_name(r):
    """The headline label of a main-table row, or None if the row is not a headline."""
    section, op = r["section"], r["operation"]
    if section == "epoch" and "Adam" in op:
        return "seed epoch, the notebook's per-op loop (Adam)"
    if section == "model" and op.startswith("seed epoch"):
        return "seed epoch, `Model.train` (Adam)"
    if section == "model":
        return (op.split(" [")[0].replace("Model.train ", "").replace(" epoch x100", "")
                + ", `Model.train`")
    if section in ("chapter", "chapter epoch") and "thread" not in op:
        return f"{op.split(' epoch')[0]}, the book's per-op loop"
    if section.startswith("model ") or section == "book model":
        return f"{op}, `Model.train`"
    if section == "ch19" and op.startswith("one epoch"):
        return "chapter 19 epoch (60000x784, batch 128), `Model.train`"
    return None


def _ch19_note(r):
    """Torch and the GEMM limit beside fastnn's chapter-19 epoch."""
    rows, tf = r["rows"], r["fastnn"]
    notes = []
    torch1 = next((v for k, v in rows.items() if k == "torch, 1 thread"), None)
    if torch1 and tf:
        notes.append(f"torch eager (1 thread) {fmt_time(torch1['t'])}: fastnn "
                     f"{fmt_ratio(torch1['t'] / tf)} faster")
    gemm = {k: v["t"] for k, v in rows.items() if k.startswith("gemm limit")}
    gemm1 = next((t for k, t in gemm.items() if k.startswith("gemm limit, 1 ")), None)
    if gemm1 and tf:
        notes.append(f"its matrix products alone at 1 BLAS thread {fmt_time(gemm1)}: fastnn at "
                     f"{fmt_frac(gemm1 / tf)} of that limit")
    own = rows.get("fastnn, BLAS's own threads")
    gemm2 = next((t for k, t in gemm.items() if k.startswith("gemm limit, 2 ")), None)
    torch2 = rows.get("torch, 2 threads")
    if own:
        s = f"with `set_blas_thread_policy(0)` {fmt_time(own['t'])}"
        if gemm2:
            s += f", {fmt_frac(gemm2 / own['t'])} of the products at 2 threads ({fmt_time(gemm2)})"
        if torch2:
            s += f", {fmt_ratio(torch2['t'] / own['t'])} faster than torch at 2 threads"
        notes.append(s)
    return "; ".join(notes)


def _floor_note(r):
    """A chapter epoch's bound, from the fastnn row's alternated timings: chapter 16's
    per-op floor (benchmarks/_floor_ch16.py), as the seed epoch's bound in the
    targets; chapter 17's matrix products alone."""
    ei = (_pick(r["rows"], "fastnn") or {}).get("extra_info") or {}
    h = ei.get("head_to_head") or {}
    if "products" in h and "speedup_bound" in h:  # chapter 17: bound by its products
        note = (f"timed alternately: fastnn {fmt_ratio(h['speedup'])}; the epoch's matrix "
                f"products alone {fmt_time(h['products'])}, a bound of "
                f"{fmt_ratio(h['speedup_bound'])} (at fastnn's one BLAS thread "
                f"{fmt_ratio(h['speedup_bound_one_thread'])}: fastnn at "
                f"{h['fastnn_pct_of_bound_one_thread']:.0f}% of it)")
        if "speedup_blas_own_threads" in h:
            note += (f"; with `set_blas_thread_policy(0)` fastnn "
                     f"{fmt_ratio(h['speedup_blas_own_threads'])}, "
                     f"{h['fastnn_blas_own_threads_pct_of_bound']:.0f}% of the bound")
        return note
    if "floor" not in h or "speedup_bound" not in h:
        return ""
    return (f"timed alternately: fastnn {fmt_ratio(h['speedup'])}; the same script on classes "
            f"that only allocate their results and move their bytes "
            f"(benchmarks/_floor_ch16.py) {fmt_time(h['floor'])}, a bound of "
            f"{fmt_ratio(h['speedup_bound'])}: fastnn at {h['fastnn_pct_of_bound']:.0f}% of it")


def headline(rows):
    """A short table of whole workloads (epochs of the book's loops and of ``Model.train``),
    fastnn against the twin, for the README's opening."""
    picked = [(name, r) for r in rows if (name := _headline_name(r)) and r["speedup"]]
    if not picked:
        return []
    out = ["| workload | size | dtype | fastnn | NumPy twin | speed-up | beside it |",
           "|---|---|---|--:|--:|--:|---|"]
    for name, r in picked:
        note = _ch19_note(r) if r["section"] == "ch19" else _floor_note(r)
        noisy = " †" if r["noisy"] else ""
        out.append(f"| {name} | {r['size']} | {r['dtype']} | {fmt_time(r['fastnn'])}{noisy} "
                   f"| {fmt_time(r['reference'])} | **{fmt_ratio(r['speedup'])}** | {note} |")
    out.append("")
    return out


def markdown(data, stat="median", command=None):
    groups, other = collect(data.get("benchmarks", []), stat)
    out = []
    out.append(f"Times are the {stat} per call; speedup = NumPy twin (`fastnn.reference`) time / "
               "fastnn time; vs torch = PyTorch CPU time / fastnn time (above 1: fastnn is faster; "
               "‡: timed alternately); "
               "roofline = (bytes the update must move / measured copy-or-triad bandwidth) / "
               "fastnn update time, probes and update timed interleaved (torch's own fraction "
               "in the targets list).")
    out.append("")
    out += machine_lines(data)
    if command:
        out.append(f"- Regenerate: `{command}`")
    out.append("")

    rows = main_rows(groups)
    out += headline(rows)
    if rows:
        out.append("| operation | size | dtype | fastnn | reference | speedup | torch | vs torch "
                   "| roofline | kernel only |")
        out.append("|---|---|---|--:|--:|--:|--:|--:|--:|--:|")
        any_noisy = any_alt = False
        for r in rows:
            mark = {k: " †" if k in r["noisy"] else "" for k in ("fastnn", "reference", "torch")}
            any_noisy = any_noisy or bool(r["noisy"])
            torch_cell = fmt_time(r["torch"])
            if r["torch"] is not None and r["torch_impl"] == "torch-fused":
                torch_cell += " (fused)"
            if torch_cell:
                torch_cell += mark["torch"]
            roof = fmt_frac(r["roofline"])
            if roof:
                roof += f" of {fmt_bw(r['bandwidth'])}"
                fei = (_pick(r["rows"], "fastnn") or {}).get("extra_info", {})
                if (fei.get("interleaved_other_cpu_cores") or 0) >= BUSY_CORES:
                    roof += " †"
                    any_noisy = True
            vs = fmt_ratio(r["vs_torch"])
            if r["vs_torch_alternated"]:
                vs += " ‡"
                any_alt = True
            out.append(f"| {r['operation']} | {r['size']} | {r['dtype']} "
                       f"| {fmt_time(r['fastnn'])}{mark['fastnn']} "
                       f"| {fmt_time(r['reference'])}{mark['reference']} | {fmt_ratio(r['speedup'])} "
                       f"| {torch_cell} | {vs} | {roof} "
                       f"| {fmt_time(r['kernel'])} |")
        out.append("")
        if any_noisy:
            out.append(f"† disturbed: median more than {NOISE_RATIO:g}x the minimum, or other "
                       f"processes kept {BUSY_CORES:g}+ cores busy (on average) just before or "
                       "during the timing; rerun on a quiet machine (`--quiet-wait`), or compare "
                       "with `--stat min`.")
            out.append("")
        if any_alt:
            out.append("‡ fastnn and torch timed alternately in one test (see `head_to_head`): "
                       "the rows' own medians are taken minutes apart, and this machine's "
                       "memory bandwidth and free CPU drift by up to 2x over minutes.")
            out.append("")
        extra = [(r, _t(r["rows"], "torch-fused")) for r in rows
                 if r["section"] == "ch19" and r["torch_impl"] == "torch"]
        extra = [(r, t) for r, t in extra if t is not None]
        if extra:
            out.append("Ch19 step with `torch.optim.Adam(fused=True)` instead of the default: "
                       + "; ".join(f"{r['dtype']} {fmt_time(t)}"
                                   + (" †" if _noisy(r["rows"], "torch-fused") else "")
                                   + f" ({fmt_ratio(t / r['fastnn'])} vs fastnn)"
                                   for r, t in extra) + ".")
            out.append("")

    peaks = []
    for (_, op, size, dtype), g in ((k, groups[k]) for k in _sorted_keys(groups, "model")):
        fi = g.get("fastnn Model.train", {}).get("extra_info", {})
        if "peak_fraction_median" in fi:
            peaks.append(f"{dtype} {fi['peak_fraction_median']:.0%} of "
                         f"{fi['peak_flops_single_thread'] / 1e9:.0f} GFLOP/s")
    if peaks:
        out.append("`Model.train` as a share of one core's peak FLOP rate (the epoch's "
                   "multiply-add FLOPs over the rate of a large single-threaded matmul "
                   "measured in the same run): " + "; ".join(peaks) + ".")
        out.append("")

    st = [(k, groups[k]) for k in _sorted_keys(groups, "startup")]
    if st:
        out.append("| start-up (fresh process) | cache | dtype | fastnn process | fastnn import "
                   "| fastnn step(s) | reference process | torch process |")
        out.append("|---|---|---|--:|--:|--:|--:|--:|")
        for (_, op, size, dtype), g in st:
            f = g.get("fastnn", {})
            fi = f.get("extra_info", {})
            out.append(f"| {op} | {size.replace(' cache', '')} | {dtype} | {fmt_time(f.get('t'))} "
                       f"| {fmt_time(fi.get('import_s'))} | {fmt_time(fi.get('step_s'))} "
                       f"| {fmt_time(g.get('reference', {}).get('t'))} "
                       f"| {fmt_time(g.get('torch', {}).get('t'))} |")
        out.append("")

    bw = [(k, groups[k]) for k in _sorted_keys(groups, "bandwidth")]
    if bw:
        out.append("Memory bandwidth probes (Numba `prange`, same thread count): "
                   + "; ".join(f"{size} {dtype} {op.replace(' probe', '')} "
                               f"{fmt_bw(g['probe']['extra_info']['bytes'] / g['probe']['t'])}"
                               for (_, op, size, dtype), g in bw if "probe" in g) + ".")
        out.append("")

    if other:
        out.append("| other benchmark | group | " + stat + " |")
        out.append("|---|---|--:|")
        for b in other:
            out.append(f"| {b['name']} | {b.get('group') or ''} | {fmt_time(_stat(b, stat))} |")
        out.append("")

    tg = targets(groups)
    if tg:
        out.append("Targets:")
        out.append("")
        for met, desc, detail in tg:
            mark = {True: "MET", False: "NOT MET", None: "not measured"}[met]
            out.append(f"- **{mark}** -- {desc}: {detail}")
        out.append("")
    return "\n".join(out)


# ------------------------------------------------------------------------ cli

def load_merged(paths):
    """pytest-benchmark JSON files merged: later files win, per benchmark fullname."""
    merged, data = {}, {}
    for path in paths:
        with open(path) as fh:
            data = json.load(fh)
        for b in data.get("benchmarks", []):
            merged[b["fullname"]] = b
    data = dict(data)
    data["benchmarks"] = list(merged.values())
    if len(paths) > 1:
        data["merged_from"] = list(paths)
    return data


def run_suite(json_path, pytest_args, quiet_wait=0.0):
    cmd = [sys.executable, "-m", "pytest", str(BENCH_DIR), f"--benchmark-json={json_path}",
           *pytest_args]
    env = dict(os.environ)
    if quiet_wait:
        env["FASTNN_BENCH_QUIET_WAIT"] = str(quiet_wait)
    print("running:", " ".join(cmd), file=sys.stderr, flush=True)
    p = subprocess.run(cmd, cwd=REPO, stdout=sys.stderr, stderr=sys.stderr, env=env)
    if p.returncode not in (0, 1):  # 1: some benchmark failed; report what there is
        raise SystemExit(f"pytest exited with {p.returncode}")
    if p.returncode == 1:
        print("warning: some benchmarks failed; the report covers the rest", file=sys.stderr)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", nargs="+", metavar="FILE",
                    help="read these pytest-benchmark JSON files instead of running; a "
                         "benchmark in a later file replaces the same one in an earlier file "
                         "(to rerun disturbed groups with -k and merge)")
    ap.add_argument("--save", help="when running the suite, keep its JSON here")
    ap.add_argument("--stat", default="median", choices=["median", "min", "mean"])
    ap.add_argument("--quiet-wait", type=float, default=0.0, metavar="S",
                    help="before each benchmark, wait up to S seconds for other processes "
                         "to leave the CPUs (FASTNN_BENCH_QUIET_WAIT)")
    ap.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = ap.parse_args(argv)

    if args.json:
        data = load_merged(args.json)
        command = "python -m benchmarks.report"
    else:
        if args.save:
            path = args.save
        else:
            fd, path = tempfile.mkstemp(prefix="fastnn-bench-", suffix=".json")
            os.close(fd)
        try:
            run_suite(path, args.pytest_args, args.quiet_wait)
            with open(path) as fh:
                data = json.load(fh)
        finally:
            if not args.save:
                os.unlink(path)
        command = "python -m benchmarks.report" + (
            " -- " + shlex.join(args.pytest_args) if args.pytest_args else "")
    print(markdown(data, stat=args.stat, command=command))


if __name__ == "__main__":
    main()
