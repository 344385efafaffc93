"""Tolerances for holding a kernel's trajectory against a plain reference implementation, derived from a
forward error analysis of the trajectory (not from the smallest value that passes on one machine).

Why a kernel and its reference differ at all
--------------------------------------------
Both compute the same exact trajectory x_0, x_1, ..., x_T in float64, but round differently: the kernel
is LLVM code generated for the CPU it runs on (Numba; ``NUMBA_CPU_NAME=generic`` gives other code than
the host's), with its own loops for sums and norms and its own LAPACK calls for SVDs; the reference is
NumPy, whose SIMD loops and transcendental functions (exp, log, pow: accurate to a few ULP, not correctly
rounded) are picked at run time for the CPU, as are the BLAS kernels behind ``dot`` and ``linalg.norm``
(OpenBLAS ``DYNAMIC_ARCH``). So at step t the two one-step maps agree only up to a local error r_t,

    |r_t| <= c eps max(|x_t|, |x_{t+1}|),        c = O(d + number of elementary operations)

(:func:`local_rel` gives c eps), and these local errors propagate. With J_t the Jacobian of the one-step
map at x_t (for the method's whole state: iterate, momentum, accumulators),

    e_{t+1} = J_t e_t + r_t   ==>   e_T = sum_{k<T} Phi(T, k+1) r_k,    Phi(T, k) = J_{T-1} ... J_k,

so |e_T| <= c eps sum_k ||Phi(T, k+1)|| |x_k| <= c eps T K^T max_k |x_k| when every ||J_t|| <= K
(:func:`trajectory_atol`).

* A nonexpansive map (K <= 1: gradient descent with eta L <= 2 on a convex function, averaging, a sign
  step away from sign changes) gives the linear growth T c eps scale of :func:`nonexpansive_atol`.
* Normalized, clipped, sign, adaptive, Polyak and polar (Muon) steps have no useful a-priori K. A
  normalized step x - eta g/|g| has Jacobian I - eta (I - u u^T) H / |g| (u = g/|g|): across the gradient
  direction it multiplies errors by about eta ||H|| / |g|, unbounded where g ~ 0, and a normalized method
  with a decaying step oscillates around the minimiser at |x| ~ eta, which is exactly where g ~ 0. Such a
  trajectory grows last-bit differences by orders of magnitude within a few steps (the single-machine
  normalized GD test: about 2000 eps between a host-compiled and a generic-compiled kernel).

For these the propagators Phi are measured along the actual trajectory, by Monte Carlo arithmetic
(D. S. Parker, "Monte Carlo arithmetic: exploiting randomness in floating-point arithmetic", UCLA
CSD-970002, 1997; the CESTAC method of J. Vignes): :func:`rounding_spread` reruns the reference with every
floating-point argument and result of every oracle call (gradient, value, SVD, noise) perturbed by an
independent random relative amount of at most ``rel = c eps``, which injects a local error of the size of
r_t at every step, and records how far these trajectories get from the unperturbed one. Errors of random
sign add up like a random walk (sqrt(T)); the kernel's and the reference's add up at worst coherently (T),
and there are two of them; so :func:`mca_atol` multiplies the measured spread by 2 sqrt(3 (t + 1))
(sqrt(3): a uniform draw on [-1, 1] has standard deviation 1/sqrt(3)) and adds the nonexpansive bound as
a floor (the steps where the probes happen to cancel, and the rounding of the method's own arithmetic).

Where the measured amplification makes last-bit agreement meaningless, the tolerance reaches a fixed
fraction ``HORIZON_REL`` of the trajectory's scale: :func:`horizon` gives the steps before that, and
:func:`assert_trajectory_close` compares only those and requires that they cover the steps the test asks
for (all, unless the test states a shorter minimum for a chaotic or oscillating trajectory). A test
whose trajectory amplified rounding past that point would then fail loudly, not pass vacuously.

Comparisons are per step, in the max norm over the state's coordinates: a coordinate crossing zero keeps
the absolute error of the whole vector, so a per-coordinate relative tolerance would be wrong.

Bit-for-bit comparisons (tolerance 0) need no propagation analysis: they are asserted only where both
sides run the same sequence of IEEE-754 operations that are correctly rounded on every CPU (+, -, *, /,
sqrt; LLVM contracts a*b + c into an FMA only under fast-math flags, which the kernels do not use), in the
same order, with no BLAS, LAPACK or vector-library transcendental functions in between.
"""
import numpy as np

EPS = float(np.finfo(np.float64).eps)

# A tolerance of one part in 10^8 of the trajectory's scale is far above any rounding effect that the
# analysis above accepts in these short runs and far below any algorithmic difference (a wrong step size,
# sign, branch or ordering changes an iterate by a fraction of a step); past it, agreement says nothing
# about the implementation.
HORIZON_REL = 1e-8

# Relative error, in units of eps, of one oracle evaluation and one update beyond the d-term sums:
# NumPy's SIMD exp/log/pow are accurate to 4 ULP (4 eps relative); the update x - a * direction adds a
# multiplication, a division and a subtraction, the oracle's own products and sums a few more.
ORACLE_EPS = 8


def local_rel(d, extra=0):
    """Relative size c eps of the local error r_t of one step of a method on a d-dimensional state.

    ``d``: inner products and norms of d-vectors (recursive summation of d products errs by at most
    d eps/2 relative to the sum of the magnitudes, Higham, *Accuracy and Stability of Numerical
    Algorithms*, 2nd ed., eq. (3.4); d eps leaves room for the square root and the scaled norm);
    ``ORACLE_EPS``: the oracle's transcendental functions and the update; ``extra``: method-specific
    additions, e.g. the number of terms an oracle sums (data points, clients)."""
    return (d + ORACLE_EPS + extra) * EPS


def sum_rtol(n_terms, ops_per_term):
    """Relative tolerance between two evaluations of a sum of n nonnegative terms, each term computed with
    ``ops_per_term`` roundings, in any summation order: each evaluation errs by at most
    (n - 1 + ops_per_term) eps/2 relative to the sum (Higham eq. (4.4); the terms' own errors are relative
    and add to the sum's without cancellation), and two of them differ by at most twice that."""
    return (n_terms - 1 + ops_per_term) * EPS


def state_scale(traj, floor=0.0):
    """Running maximum, over the steps up to t, of the max-norm of the state (at least ``floor``): the
    scale of the local errors' bound. ``floor=1`` for a logarithm (an absolute error e in log F is a
    relative error e in F, so its evaluation errs by c eps even where log F ~ 0)."""
    traj = np.asarray(traj, dtype=float)
    rows = np.abs(traj.reshape(traj.shape[0], -1)).max(axis=1) if traj.size else np.zeros(traj.shape[0])
    return np.maximum(np.maximum.accumulate(rows), floor)


def nonexpansive_atol(traj, rel, per_step=1, floor=0.0):
    """Per-step absolute tolerance for a nonexpansive one-step map (K <= 1): the local errors add up,
    |e_t| <= 2 rel (t + 1) per_step max_{s<=t} |x_s| (2: the kernel's and the reference's; t + 1: the
    evaluation at step t itself). ``per_step``: elementary steps in one recorded step (local steps per
    round)."""
    t = np.arange(np.asarray(traj).shape[0], dtype=float)
    return 2.0 * rel * (t + 1.0) * per_step * state_scale(traj, floor)


def trajectory_atol(steps, rel, amplification=1.0, scale=1.0):
    """A-priori bound for a map with per-step Lipschitz factor K = ``amplification``: local errors of at
    most rel * scale in both implementations reach step T multiplied by at most K^(T-k), so
    |e_T| <= 2 rel scale sum_{k<T} K^k (2 rel scale T for K = 1, about 2 rel scale T K^T for K > 1)."""
    K = float(amplification)
    geo = float(steps) if K == 1.0 else (K ** steps - 1.0) / (K - 1.0)
    return 2.0 * rel * scale * geo


# --------------------------------------------------------------------------- Monte Carlo arithmetic

class _Perturbed:
    """An oracle whose floating-point arguments and results are perturbed by independent relative amounts
    in [-rel, rel] (float arrays and Python floats; a tuple result such as (value, gradient) element by
    element; integers, strings, modules and other objects pass unchanged)."""

    def __init__(self, fn, rel, rs):
        self.fn, self.rel, self.rs = fn, rel, rs

    def _jitter(self, a):
        if isinstance(a, tuple):
            return tuple(self._jitter(v) for v in a)
        if isinstance(a, float) or (isinstance(a, np.ndarray) and a.dtype.kind == "f"):
            arr = np.asarray(a, dtype=float)
            out = arr * (1.0 + self.rel * self.rs.uniform(-1.0, 1.0, arr.shape))
            return float(out) if isinstance(a, float) else out
        return a

    def __call__(self, *args, **kwargs):
        return self._jitter(self.fn(*(self._jitter(a) for a in args), **kwargs))


def _rows(a):
    a = np.asarray(a, dtype=float)
    return a.reshape(a.shape[0], -1)


def rounding_spread(run, rel, oracles=(), patch=(), probes=6, seed=0):
    """Monte Carlo arithmetic on a reference: per-step max-norm distance of perturbed reruns from the
    plain run.

    ``run(*oracles)`` returns the reference trajectory (array-like, steps first) or a tuple of them (an
    iterate trace and a loss trace, say). ``oracles``: the callables the reference takes (gradients,
    values; a list of callables counts as one argument, each element perturbed). ``patch``: pairs
    (module, attribute name) of module-level functions that the reference calls by name (its gradient,
    its SVD, its noise), replaced during each probe. Each of ``probes`` reruns perturbs every
    floating-point argument and result of every such call by an independent relative amount in
    [-rel, rel]. Returns the unperturbed trajectory and its spread per step (tuples when ``run`` returns a
    tuple)."""
    def as_tuple(out):
        return tuple(_rows(o) for o in out) if isinstance(out, tuple) else (_rows(out),)

    raw = run(*oracles)
    base = as_tuple(raw)
    spread = [np.zeros(b.shape[0]) for b in base]
    rs = np.random.default_rng(seed)

    def wrap(o):
        if isinstance(o, (list, tuple)):
            return [wrap(f) for f in o]
        return _Perturbed(o, rel, rs)
    for _ in range(probes):
        saved = [(mod, name, getattr(mod, name)) for mod, name in patch]
        try:
            for mod, name, fn in saved:
                setattr(mod, name, _Perturbed(fn, rel, rs))
            out = as_tuple(run(*[wrap(o) for o in oracles]))
        finally:
            for mod, name, fn in saved:
                setattr(mod, name, fn)
        for k, (b, o) in enumerate(zip(base, out)):
            diff = np.abs(o - b).max(axis=1) if b.shape[1] else np.zeros(b.shape[0])
            spread[k] = np.maximum(spread[k], np.nan_to_num(diff, nan=np.inf))
    if isinstance(raw, tuple):
        return tuple(np.asarray(r, dtype=float) for r in raw), tuple(spread)
    return np.asarray(raw, dtype=float), spread[0]


def mca_atol(traj, spread, rel, per_step=1, floor=0.0):
    """Per-step tolerance from a measured rounding spread (module docstring): the spread of random-sign
    injections raised to a coherent worst case of two implementations, 2 sqrt(3 (t + 1)) spread_t, plus
    the nonexpansive floor."""
    t = np.arange(np.asarray(traj).shape[0], dtype=float)
    return 2.0 * np.sqrt(3.0 * (t + 1.0)) * np.asarray(spread) + nonexpansive_atol(traj, rel, per_step, floor)


def reference_atol(run, rel, oracles=(), patch=(), per_step=1, floor=0.0, probes=6, seed=0):
    """:func:`rounding_spread` then :func:`mca_atol`: the per-step tolerance for each trajectory ``run``
    returns (a tuple of them when it returns a tuple; ``floor`` may then be a tuple too)."""
    base, spread = rounding_spread(run, rel, oracles, patch, probes, seed)
    if isinstance(base, tuple):
        floors = floor if isinstance(floor, tuple) else (floor,) * len(base)
        return tuple(mca_atol(b, s, rel, per_step, f) for b, s, f in zip(base, spread, floors))
    return mca_atol(base, spread, rel, per_step, floor)


def evaluation_atol(f, points, rel, probes=6, seed=0):
    """Tolerance for the values f(x) at the *same* points x computed by two implementations of f: the
    Monte Carlo spread of f under relative perturbations ``rel`` of its argument and its result (the
    condition of f at x times its evaluation error), times 2 sqrt(3) (two implementations; the standard
    deviation of a uniform draw), plus 2 rel |f(x)|. Nothing accumulates along the trajectory here."""
    pts = list(points)

    def run(fn):
        return np.array([fn(np.asarray(x, dtype=float)) for x in pts], dtype=float)
    base, spread = rounding_spread(run, rel, oracles=[f], probes=probes, seed=seed)
    return 2.0 * np.sqrt(3.0) * spread + 2.0 * rel * np.abs(base.reshape(base.shape[0], -1)).max(axis=1)


# --------------------------------------------------------------------------- comparison

def horizon(traj, atol, rel_limit=HORIZON_REL, floor=0.0):
    """Number of leading steps on which the tolerance stays within ``rel_limit`` times the trajectory's
    scale, i.e. on which agreement to the tolerance still tests the implementation."""
    scale = np.maximum(state_scale(traj, floor), np.finfo(float).tiny)
    ok = np.asarray(atol) <= rel_limit * scale
    return int(ok.size) if ok.all() else int(np.argmin(ok))


def assert_trajectory_close(actual, desired, atol, what="trajectory", min_horizon=None, floor=0.0):
    """Assert max_j |actual[t, j] - desired[t, j]| <= atol[t] on the steps of the :func:`horizon`, and that
    the horizon covers at least ``min_horizon`` steps (all steps when None). Names the first step that is
    off and by how much."""
    a, b = _rows(actual), _rows(desired)
    assert a.shape == b.shape, f"{what}: shapes {np.shape(actual)} and {np.shape(desired)}"
    n = a.shape[0]
    tol = np.broadcast_to(np.asarray(atol, dtype=float), (n,))
    H = horizon(b, tol, floor=floor)
    need = n if min_horizon is None else int(min_horizon)
    assert H >= need, (
        f"{what}: the trajectory amplifies rounding past {HORIZON_REL:g} of its scale at step {H} (of {n}); "
        f"a comparison beyond it would not test the implementation (tolerance {tol[min(H, n - 1)]:.3g})")
    a, b, tol = a[:H], b[:H], tol[:H]
    both_nan = np.isnan(a) & np.isnan(b)
    diff = np.where(both_nan, 0.0, np.abs(a - b))
    dmax = np.nan_to_num(diff.max(axis=1) if diff.shape[1] else np.zeros(H), nan=np.inf)
    bad = np.flatnonzero(~(dmax <= tol))
    if bad.size:
        t = int(bad[0])
        ratio = dmax[bad] / np.maximum(tol[bad], np.finfo(float).tiny)
        raise AssertionError(
            f"{what}: {bad.size} of {H} steps differ by more than the derived tolerance; first at step {t}: "
            f"max |diff| = {dmax[t]:.3g} > atol = {tol[t]:.3g} (ratio {ratio[0]:.3g}; worst {ratio.max():.3g})\n"
            f"actual  {a[t].tolist()}\ndesired {b[t].tolist()}")
