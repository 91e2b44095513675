"""Sampling behind ``Domain``: seeded Tune samplers and native hyperopt expressions.

Kinds Ray Tune has no domain for (``lognormal``, ``beta``, ``weighted_choice``, ...)
get a :class:`DistSampler`: a Tune ``Sampler`` that draws from the ``random_state``
``BasicVariantGenerator`` passes in, so ``search.seed`` reproduces them exactly like
Tune's own domains. Every kind also has a native hyperopt expression for TPE
(:func:`hyperopt_expr`); values come back as plain Python ``int``/``float`` inside the
declared support.

Quantized kinds (``q...``) round to multiples of ``q``; a bounded one keeps to the
multiples of ``q`` inside its bounds (``quniform: [0.5, 10, 3]`` gives 3, 6 or 9), and
``qbeta`` to those in ``[0, 1]``. Values are integers when ``q`` is an integer
(``q: 16``, not ``16.0``), as W&B does.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tune_jobs.spec.kinds import KINDS

__all__ = [
    "INTEGER_Q_KINDS",
    "DistSampler",
    "from_unit",
    "hyperopt_expr",
    "quantized_bounds",
    "to_unit",
    "tune_domain",
]

#: Kinds whose values are ``int`` when their ``q`` is an ``int``.
INTEGER_Q_KINDS = frozenset(k for k, info in KINDS.items() if info.quantized and not info.integer)


def quantized_bounds(low: float, high: float, q: float) -> tuple[float, float]:
    """The smallest and largest multiple of ``q`` inside ``[low, high]``."""
    lo_i, hi_i = low / q, high / q
    lo_k = round(lo_i) if math.isclose(lo_i, round(lo_i)) else math.ceil(lo_i)
    hi_k = round(hi_i) if math.isclose(hi_i, round(hi_i)) else math.floor(hi_i)
    return lo_k * q, hi_k * q


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _draw(kind: str, args: tuple[Any, ...], rng: Any, size: int) -> np.ndarray:
    """``size`` raw draws for ``kind`` from ``rng`` (Tune's numpy wrapper)."""
    a = args
    if kind in ("quniform", "qloguniform"):
        lo, hi = quantized_bounds(a[0], a[1], a[2])
        if kind == "quniform":
            x = rng.uniform(lo, hi, size=size)
        else:
            x = np.exp(rng.uniform(math.log(lo), math.log(hi), size=size))
        return np.clip(np.round(x / a[2]) * a[2], lo, hi)
    if kind in ("normal", "qnormal"):
        x = rng.normal(a[0], a[1], size=size)
    elif kind in ("lognormal", "qlognormal"):
        x = np.exp(rng.normal(a[0], a[1], size=size))
    elif kind in ("beta", "qbeta"):
        x = rng.beta(a[0], a[1], size=size)
    elif kind == "inv_loguniform":
        # 1/v is log-uniform on [1/high, 1/low], i.e. v is log-uniform on [low, high].
        inv = np.exp(rng.uniform(math.log(1 / a[1]), math.log(1 / a[0]), size=size))
        return np.clip(1.0 / inv, a[0], a[1])
    else:
        raise ValueError(f"no custom sampler for {kind!r}")
    if kind.startswith("q"):
        q = a[2]
        x = np.round(x / q) * q
        if kind == "qbeta":
            x = np.clip(x, 0.0, quantized_bounds(0.0, 1.0, q)[1])
    return x


def _cast(kind: str, args: tuple[Any, ...], value: Any) -> Any:
    if kind in INTEGER_Q_KINDS and _is_int(args[2]):
        return round(float(value))
    return float(value)


def _sampler_base() -> type:
    from ray.tune.search.sample import Sampler

    return Sampler


class DistSampler(_sampler_base()):  # type: ignore[misc]
    """A Tune sampler for one of our kinds, seeded by the ``random_state`` Tune passes.

    Picklable (plain attributes), so ``Tuner.restore`` and experiment snapshots work.
    """

    def __init__(self, kind: str, args: tuple[Any, ...]) -> None:
        self.kind = kind
        self.args = tuple(args)

    def sample(
        self,
        domain: Any,
        config: Any = None,
        size: int = 1,
        random_state: Any = None,
    ) -> Any:
        """Draw ``size`` values (a scalar when ``size == 1``, as Tune's samplers do)."""
        from tune_jobs.ray_internals import tune_rng

        random_state = tune_rng(random_state)
        if self.kind == "weighted_choice":
            probs = np.asarray([p for _, p in self.args], dtype=float)
            idx = random_state.choice(np.arange(len(self.args)), size=size, p=probs / probs.sum())
            items = [self.args[int(i)][0] for i in np.atleast_1d(idx)]
        else:
            raw = _draw(self.kind, self.args, random_state, size)
            items = [_cast(self.kind, self.args, v) for v in np.atleast_1d(raw)]
        return items if len(items) > 1 else items[0]

    def __str__(self) -> str:
        return f"{self.kind}{list(self.args)}"


def tune_domain(kind: str, args: tuple[Any, ...]) -> Any:
    """A Ray Tune domain for ``kind`` driven by :class:`DistSampler`."""
    from ray.tune.search.sample import Categorical, Float, Integer

    if kind == "weighted_choice":
        domain: Any = Categorical([v for v, _ in args])
    elif kind in INTEGER_Q_KINDS and _is_int(args[2]):
        domain = Integer(None, None)
    elif kind in ("quniform", "qloguniform", "inv_loguniform"):
        domain = Float(args[0], args[1])
    elif kind in ("beta", "qbeta"):
        domain = Float(0.0, 1.0)
    else:
        domain = Float(None, None)
    domain.set_sampler(DistSampler(kind, args), allow_override=True)
    return domain


# --- the unit interval (space-filling designs) --------------------------------------------

_TOP = math.nextafter(1.0, 0.0)


def from_unit(kind: str, args: tuple[Any, ...], u: float) -> Any:
    """The value of ``kind`` at unit coordinate ``u`` in [0, 1) (``Domain.from_unit``)."""
    u = min(max(u, 0.0), _TOP)
    a = args
    if kind in ("choice", "grid"):
        return a[int(u * len(a))]
    if kind in ("uniform", "quniform"):
        value = a[0] + u * (a[1] - a[0])
        return _quantise(value, a[2], a[0], a[1]) if kind == "quniform" else value
    if kind in ("loguniform", "qloguniform"):
        value = math.exp(math.log(a[0]) + u * (math.log(a[1]) - math.log(a[0])))
        return _quantise(value, a[2], a[0], a[1]) if kind == "qloguniform" else value
    if kind in ("randint", "qrandint"):
        step = a[2] if kind == "qrandint" else 1
        count = (a[1] - a[0]) // step + 1
        return int(a[0] + int(u * count) * step)
    if kind == "lograndint":
        low, high = math.log(a[0]), math.log(a[1] + 1)
        return min(int(math.exp(low + u * (high - low))), a[1])
    if kind == "inv_loguniform":  # 1/v log-uniform is v log-uniform over the same range
        return math.exp(math.log(a[0]) + u * (math.log(a[1]) - math.log(a[0])))
    if kind == "weighted_choice":  # equal-probability bins become probability-wide bins
        total = 0.0
        for value, probability in a:
            total += probability
            if u < total:
                return value
        return a[-1][0]
    return _from_unit_by_ppf(kind, a, min(max(u, 1e-9), 1 - 1e-9))


def _from_unit_by_ppf(kind: str, a: tuple[Any, ...], u: float) -> Any:
    """Unbounded and shaped distributions through their inverse CDF (scipy)."""
    from scipy.stats import beta, norm

    if kind in ("normal", "qnormal"):
        value = float(norm.ppf(u, loc=a[0], scale=a[1]))
    elif kind in ("lognormal", "qlognormal"):
        value = math.exp(float(norm.ppf(u, loc=a[0], scale=a[1])))
    elif kind in ("beta", "qbeta"):
        value = float(beta.ppf(u, a[0], a[1]))
    else:
        raise ValueError(f"space-filling designs do not support {kind!r} parameters")
    if kind.startswith("q"):
        value = round(value / a[2]) * a[2]
    return value


def _quantise(value: float, q: float, low: float, high: float) -> float:
    """The multiple of ``q`` nearest ``value`` inside the bounds; an ``int`` for an int ``q``
    (as the samplers give: ``batch_size: {quniform: [16, 256, 16]}`` must stay integer)."""
    lo, hi = quantized_bounds(low, high, q)
    out = min(max(round(value / q) * q, lo), hi)
    return round(out) if _is_int(q) else float(out)


def to_unit(kind: str, args: tuple[Any, ...], value: Any) -> float:
    """The unit coordinate of ``value`` (``Domain.to_unit``): the inverse of
    ``from_unit``, at the middle of the bin of an integer or a listed value."""
    a = args
    if kind in ("choice", "grid", "weighted_choice"):
        options = [v for v, _ in a] if kind == "weighted_choice" else list(a)
        matches = [i for i, option in enumerate(options) if option == value]
        if not matches:
            raise ValueError(f"{value!r} is not one of {kind} {options}")
        i = matches[0]
        if kind != "weighted_choice":
            return (i + 0.5) / len(options)
        before = sum(p for _, p in a[:i])
        return min(before + a[i][1] / 2, _TOP)
    if kind in ("normal", "qnormal", "lognormal", "qlognormal", "beta", "qbeta"):
        from scipy.stats import beta, norm

        if kind in ("lognormal", "qlognormal"):
            if value == 0 and kind == "qlognormal":  # values below q/2 round to 0
                return 0.0
            if value <= 0:
                raise ValueError(f"{value!r} is outside the support of {kind}")
            u = float(norm.cdf(math.log(value), loc=a[0], scale=a[1]))
        elif kind in ("beta", "qbeta"):
            u = float(beta.cdf(value, a[0], a[1]))
        else:
            u = float(norm.cdf(value, loc=a[0], scale=a[1]))
        return min(u, _TOP)
    if not a[0] <= value <= a[1]:
        raise ValueError(f"{value!r} is outside [{a[0]}, {a[1]}]")
    if kind in ("randint", "qrandint"):
        step = a[2] if kind == "qrandint" else 1
        count = (a[1] - a[0]) // step + 1
        return (round((value - a[0]) / step) + 0.5) / count
    if kind == "lograndint":
        low, high = math.log(a[0]), math.log(a[1] + 1)
        middle = (math.log(value) + math.log(value + 1)) / 2
        return (middle - low) / (high - low)
    if KINDS[kind].log:
        if a[0] == a[1]:
            return 0.5
        return min((math.log(value) - math.log(a[0])) / (math.log(a[1]) - math.log(a[0])), _TOP)
    if a[0] == a[1]:
        return 0.5
    return min((value - a[0]) / (a[1] - a[0]), _TOP)


# --- hyperopt ------------------------------------------------------------------------


def _register_pyll() -> None:
    """Pure pyll functions our expressions use (registered once per process)."""
    from tune_jobs.ray_internals import define_hyperopt_function

    def tune_jobs_beta_ppf(u: float, a: float, b: float, q: float, hi: float) -> float:
        """Beta(a, b) inverse CDF at ``u``; rounded to multiples of ``q`` when q > 0."""
        from scipy.special import betaincinv

        x = float(betaincinv(a, b, min(max(float(u), 0.0), 1.0)))
        if q > 0:
            x = round(x / q) * q
        return min(max(x, 0.0), hi)

    def tune_jobs_plain(value: Any) -> Any:
        """Tuples (how pyll returns list literals) back to lists, recursively."""
        if isinstance(value, (list, tuple)):
            return [tune_jobs_plain(v) for v in value]
        if isinstance(value, dict):
            return {k: tune_jobs_plain(v) for k, v in value.items()}
        return value

    for fn in (tune_jobs_beta_ppf, tune_jobs_plain):
        define_hyperopt_function(fn)


def _clip(expr: Any, lo: float, hi: float, integer: bool) -> Any:
    from hyperopt.pyll import scope

    clipped = scope.minimum(scope.maximum(expr, lo), hi)
    return scope.int(scope.float(clipped)) if integer else scope.float(clipped)


def _options(values: list[Any]) -> list[Any]:
    from hyperopt.pyll import scope

    return [scope.tune_jobs_plain(v) if isinstance(v, (list, dict)) else v for v in values]


def hyperopt_expr(kind: str, args: tuple[Any, ...], label: str) -> Any:
    """A native hyperopt expression sampling ``kind`` under ``label`` (for TPE).

    Raises ``ValueError`` for ``grid`` (TPE samples; it cannot enumerate a grid).
    """
    from hyperopt import hp
    from hyperopt.pyll import scope

    _register_pyll()
    a = args
    if kind == "uniform":
        return _clip(hp.uniform(label, a[0], a[1]), a[0], a[1], False)
    if kind == "loguniform":
        return _clip(hp.loguniform(label, math.log(a[0]), math.log(a[1])), a[0], a[1], False)
    if kind in ("quniform", "qloguniform"):
        lo, hi = quantized_bounds(a[0], a[1], a[2])
        if lo == hi:
            return int(lo) if _is_int(a[2]) else float(lo)
        if kind == "quniform":
            expr = hp.quniform(label, lo, hi, a[2])
        else:
            expr = hp.qloguniform(label, math.log(lo), math.log(hi), a[2])
        return _clip(expr, lo, hi, _is_int(a[2]))
    if kind == "randint":
        if a[0] == a[1]:
            return int(a[0])
        # Ordinal for TPE: round a uniform on [low - 0.5, high + 0.5] (each integer
        # gets the same width), then clip the measure-zero ends.
        return _clip(hp.quniform(label, a[0] - 0.5, a[1] + 0.5, 1), a[0], a[1], True)
    if kind == "qrandint":
        lo, hi = quantized_bounds(a[0], a[1], a[2])
        if lo == hi:
            return int(lo)
        expr = hp.quniform(label, lo - a[2] / 2, hi + a[2] / 2, a[2])
        return _clip(expr, lo, hi, True)
    if kind == "lograndint":
        if a[0] == a[1]:
            return int(a[0])
        expr = hp.qloguniform(label, math.log(a[0] - 0.5), math.log(a[1] + 0.5), 1)
        return _clip(expr, a[0], a[1], True)
    if kind == "normal":
        return scope.float(hp.normal(label, a[0], a[1]))
    if kind == "lognormal":
        return scope.float(hp.lognormal(label, a[0], a[1]))
    if kind in ("qnormal", "qlognormal"):
        fn = hp.qnormal if kind == "qnormal" else hp.qlognormal
        expr = fn(label, a[0], a[1], a[2])
        return scope.int(scope.float(expr)) if _is_int(a[2]) else scope.float(expr)
    if kind in ("beta", "qbeta"):
        # TPE models the quantile u; the value is the beta's inverse CDF at u.
        q = a[2] if kind == "qbeta" else 0
        hi = quantized_bounds(0.0, 1.0, q)[1] if q else 1.0
        value = scope.tune_jobs_beta_ppf(hp.uniform(label, 0.0, 1.0), a[0], a[1], q, hi)
        return _clip(value, 0.0, hi, bool(q) and _is_int(q))
    if kind == "inv_loguniform":
        inv = hp.loguniform(label, math.log(1 / a[1]), math.log(1 / a[0]))
        return _clip(scope.truediv(1.0, inv), a[0], a[1], False)
    if kind == "choice":
        return hp.choice(label, _options(list(a)))
    if kind == "weighted_choice":
        total = sum(p for _, p in a)
        return hp.pchoice(
            label,
            [(p / total, o) for (_, p), o in zip(a, _options([v for v, _ in a]), strict=True)],
        )
    raise ValueError(
        f"{label}: the TPE searcher (hyperopt) does not support {kind!r}; it samples, so "
        "use choice (or search.algorithm: grid / random for a grid)"
    )
