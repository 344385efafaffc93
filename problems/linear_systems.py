"""Consistent linear systems ``A x = b`` for sketch-and-project (Gower, Richtarik, "Randomized iterative
methods for linear systems", SIAM J. Matrix Anal. Appl. 36(4), 2015; arXiv 1506.03296).

Notation (the paper's): A is m x n of full column rank, the system is consistent, so x* is unique; B is
an n x n positive definite matrix (the geometry): the identity, or A itself when A is symmetric positive
definite. A sketch S (m x q, random) gives ``Z = A^T S (S^T A B^{-1} A^T S)^+ S^T A`` and the method
``x <- x - B^{-1} Z (x - x*)`` (``theorybench.methods.sketch_project``).

Instance ``linear-system``: generated with a seed (``kind=general``: m x n Gaussian rows scaled to norms
log-spaced from 1 to ``row_scale``; ``kind=pd``: n x n ``A = D^{1/2} C D^{1/2}`` with C a well-conditioned
correlation matrix and D diagonal, log-spaced from 1 to ``row_scale``), or read from ``data=FILE`` (a
``.npz`` with arrays ``A`` and ``b``, or a ``.npy`` / CSV array ``[A | b]``). Start x0 = 0.

Arrays (``VectorProblem.arrays``), read by the family's pieces and by the method:

======== ===================================================================================
A        m x n, the system matrix
b        m, the right-hand side
xstar    n, the solution x* (least squares on the consistent full-rank system)
Bmat     n x n, B
Binv     n x n, B^{-1}
ABinv    m x n, A B^{-1}: row i is B^{-1} a_i (a_i = A^T e_i, the i-th row of A as a vector)
rowB     m, a_i^T B^{-1} a_i (= ||a_i||^2 for B = I, A_ii for B = A)
cum_rows m, cumulative probabilities p_i = ||a_i||^2 / ||A||_F^2 (Kaczmarz's importance sampling)
cum_conv m, cumulative probabilities p_i = a_i^T B^{-1} a_i / tr(A B^{-1} A^T) (the paper's "convenient
         probabilities": A_ii / tr(A) when B = A, randomized coordinate descent)
======== ===================================================================================

The exact expectations of the discrete sketches (:func:`expected_Z`), the rate
``rho = 1 - lambda_min(B^{-1/2} E[Z] B^{-1/2})`` (:func:`rho`), the expected iterates
``E[x_k - x*] = (I - B^{-1} E[Z])^k (x_0 - x*)`` (:func:`expected_error`) and the exact second moment
``E ||x_k - x*||_B^2`` of the discrete sketches (:func:`expected_err_B2`) are here too.
"""
import math
import os
import zipfile
from itertools import combinations

import numpy as np
from numba import njit

from theorybench import Constant, Param, register_problem
from theorybench.declare_vector import VectorFamily, VectorProblem, declare_vector_family, smooth_safe_radius
from theorybench.errors import TheoryBenchError

SKETCHES = ("kaczmarz", "kaczmarz-uniform", "coordinate", "block", "gaussian")
DISCRETE = ("kaczmarz", "kaczmarz-uniform", "coordinate", "block")
MAX_BLOCKS = 200_000
MAX_ENTRIES = 10**7       # a generated A holds at most this many numbers (80 MB)
S_LOW, S_HIGH = -50.0, 100.0  # the range of s = log(t lambda_max) in gaussian_W        # exact E[Z] of the block sketch sums C(m, k) blocks: refused beyond this many


# ------------------------------------------------------------------------------------------ the family

@njit(cache=True)
def ls_value(x, A, b):
    """``f(x) = (1/2) ||A x - b||^2`` (the residual; zero exactly at x*)."""
    v = 0.0
    for i in range(A.shape[0]):
        r = -b[i]
        for j in range(A.shape[1]):
            r += A[i, j] * x[j]
        v += r * r
    return 0.5 * v


@njit(cache=True)
def ls_grad(x, out, A, b):
    """``out = A^T (A x - b)``."""
    out[:] = 0.0
    for i in range(A.shape[0]):
        r = -b[i]
        for j in range(A.shape[1]):
            r += A[i, j] * x[j]
        for j in range(A.shape[1]):
            out[j] += A[i, j] * r


@njit(cache=True)
def err_B2(x, xstar, Bmat):
    """``||x - x*||_B^2 = (x - x*)^T B (x - x*)``."""
    n = x.shape[0]
    s = 0.0
    for i in range(n):
        ri = 0.0
        for j in range(n):
            ri += Bmat[i, j] * (x[j] - xstar[j])
        s += (x[i] - xstar[i]) * ri
    return s


@njit(cache=True)
def err2(x, xstar):
    """``||x - x*||^2``."""
    s = 0.0
    for j in range(x.shape[0]):
        s += (x[j] - xstar[j]) ** 2
    return s


FAMILY = declare_vector_family(VectorFamily(
    "linear-system", ("linear-system",), ls_value, ls_grad, stats=(("err_B2", err_B2), ("err2", err2)),
    target_stat="err_B2", safe_radius=lambda p: smooth_safe_radius(p.constant("frob2"), p.arrays["xstar"]),
    doc="f(x) = ||A x - b||^2 / 2 of a consistent system; stats ||x - x*||_B^2, ||x - x*||^2",
    reference="Gower, Richtarik, SIMAX 2015"))


# ------------------------------------------------------------------------------------------ building

def generate(kind, m, n, data_seed, row_scale):
    """``(A, b)`` of a generated instance (module docstring); b = A x_true with x_true ~ N(0, I_n)."""
    rs = np.random.default_rng(data_seed)
    if kind == "general":
        G = rs.standard_normal((m, n))
        G /= np.linalg.norm(G, axis=1, keepdims=True)
        A = G * np.geomspace(1.0, row_scale, m)[:, None]
    else:
        Q, _ = np.linalg.qr(rs.standard_normal((n, n)))
        C = (Q * np.geomspace(0.5, 2.0, n)) @ Q.T
        s = 1.0 / np.sqrt(np.diag(C))
        C = s[:, None] * C * s[None, :]
        d = np.sqrt(np.geomspace(1.0, row_scale, n))
        A = d[:, None] * C * d[None, :]
        A = 0.5 * (A + A.T)
    b = A @ rs.standard_normal(n)
    return A, b


def load_system(path):
    """``(A, b)`` from ``path``: ``.npz`` with arrays ``A`` (m x n) and ``b`` (m), or a ``.npy`` / CSV array
    whose last column is b. Every malformed file gets a :class:`TheoryBenchError` naming the file."""
    where = f"parameter 'data' ({path!r})"
    if os.path.isdir(path):
        raise TheoryBenchError(f"{where} is a folder; give a .npz (arrays A and b), .npy or CSV file ([A | b])")
    if not os.path.exists(path):
        raise TheoryBenchError(f"parameter 'data': no such file {path!r}")
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".npz":
            with np.load(path, allow_pickle=False) as f:
                missing = [k for k in ("A", "b") if k not in f.files]
                if missing:
                    raise TheoryBenchError(
                        f"{where}: the archive has no array {' or '.join(map(repr, missing))} (it has "
                        f"{', '.join(map(repr, f.files)) or 'none'}); save it with np.savez(path, A=A, b=b)")
                A, b = _real(f["A"], where, "A"), _real(f["b"], where, "b")
            if A.ndim != 2:
                raise TheoryBenchError(f"{where}: A must be 2-D (m rows x n columns), got shape {A.shape}")
            if b.ndim == 2 and b.shape[1] == 1:
                b = b[:, 0]
            if b.ndim != 1 or b.shape[0] != A.shape[0]:
                raise TheoryBenchError(f"{where}: b must have one entry per row of A ({A.shape[0]}), got shape "
                                       f"{b.shape}")
        else:
            M = _real(np.load(path, allow_pickle=False), where, "the array") if ext == ".npy" else _read_csv(path, where)
            if M.ndim != 2 or M.shape[1] < 2:
                raise TheoryBenchError(f"{where}: the array must be 2-D with rows (a_i1, ..., a_in, b_i), n >= 1, "
                                       f"got shape {M.shape}")
            A, b = M[:, :-1], M[:, -1]
    except TheoryBenchError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as e:
        text = (str(e).splitlines() or [type(e).__name__])[0][:200]
        if "pickle" in text.lower():
            text = "not a plain numeric array: object arrays and pickles are not loaded"
        raise TheoryBenchError(f"{where}: cannot read it ({text})") from None
    if A.shape[0] == 0 or A.shape[1] == 0:
        raise TheoryBenchError(f"{where}: A has shape {A.shape}; it needs at least one row and one column")
    bad = np.flatnonzero(~np.isfinite(A).all(axis=1) | ~np.isfinite(b))
    if bad.size:
        raise TheoryBenchError(f"{where}: row {bad[0] + 1} (of {A.shape[0]}) has a value that is not finite "
                               f"(nan or inf); {bad.size} such rows")
    return np.ascontiguousarray(A), np.ascontiguousarray(b)


def _real(a, where, name):
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        raise TheoryBenchError(f"{where}: {name} must hold real numbers, got dtype {a.dtype}")
    return a.astype(np.float64)


def _read_csv(path, where):
    """Rows of numbers separated by commas, all of one length; a first line without a number is a header."""
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except UnicodeDecodeError:
        raise TheoryBenchError(f"{where}: not a text (UTF-8) CSV file; a NumPy array needs the .npy or .npz "
                               "extension") from None
    rows, width, first = [], None, None
    for i, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        cells = [c.strip() for c in text.split(",")]
        numeric = [_is_number(c) for c in cells]
        if first is None and not rows and not any(numeric):
            first = i  # a header
            continue
        if width is None:
            width, first_row = len(cells), i
        elif len(cells) != width:
            raise TheoryBenchError(f"{where}: line {i} has {len(cells)} fields, line {first_row} has {width}; "
                                   "every row must be a_i1, ..., a_in, b_i (a ragged file)")
        for j, ok in enumerate(numeric):
            if not ok:
                raise TheoryBenchError(f"{where}: line {i}, column {j + 1}: {cells[j]!r} is not a number")
        rows.append([float(c) for c in cells])
    if not rows:
        raise TheoryBenchError(f"{where}: no data rows (rows a_i1, ..., a_in, b_i separated by commas)")
    return np.array(rows, dtype=np.float64)


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def solve_exact(A, b, consistency_tol, where="the system"):
    """x* of a consistent full-column-rank system (least squares), or a :class:`TheoryBenchError` saying
    which condition fails: rank (numpy's matrix_rank tolerance, sigma_max max(m, n) eps) or consistency
    (``||A x* - b|| <= consistency_tol (||A||_2 ||x*|| + ||b||)``)."""
    m, n = A.shape
    if m < n:
        raise TheoryBenchError(f"{where}: A is {m} x {n}, fewer rows than columns, so x* is not unique (A must "
                               "have full column rank)")
    sv = np.linalg.svd(A, compute_uv=False)
    tol = sv[0] * max(m, n) * np.finfo(float).eps
    if sv[-1] <= tol:
        raise TheoryBenchError(f"{where}: A ({m} x {n}) is not of full column rank (smallest singular value "
                               f"{sv[-1]:.3g}, largest {sv[0]:.3g}), so x* is not unique")
    xs = np.linalg.lstsq(A, b, rcond=None)[0]
    res = float(np.linalg.norm(A @ xs - b))
    scale = sv[0] * float(np.linalg.norm(xs)) + float(np.linalg.norm(b))
    if res > consistency_tol * scale:
        raise TheoryBenchError(f"{where}: the system is inconsistent: the least-squares residual ||A x* - b|| = "
                               f"{res:.3g} exceeds consistency_tol = {consistency_tol:g} times ||A|| ||x*|| + ||b|| "
                               f"= {scale:.3g} (sketch-and-project needs A x = b solvable; if b was rounded when it "
                               "was written, raise -p consistency_tol)")
    return xs


def make_instance(A, b, B="identity", consistency_tol=1e-9, name="linear-system", where="the system", settings=None):
    """The :class:`VectorProblem` of ``A x = b`` with ``B`` = ``"identity"`` or ``"A"`` (A symmetric positive
    definite), with every array of the module docstring."""
    A = np.ascontiguousarray(A, dtype=np.float64)
    b = np.ascontiguousarray(b, dtype=np.float64)
    m, n = A.shape
    if B == "A":
        if m != n or not np.allclose(A, A.T, rtol=1e-12, atol=1e-12 * np.abs(A).max()):
            raise TheoryBenchError(f"parameter 'B': B = A needs a symmetric A; {where} has an A of shape {A.shape}"
                                   + ("" if m != n else " that is not symmetric"))
        A = 0.5 * (A + A.T)
        try:
            np.linalg.cholesky(A)
        except np.linalg.LinAlgError:
            raise TheoryBenchError(f"parameter 'B': B = A needs A positive definite; {where}'s A is not "
                                   f"(smallest eigenvalue {np.linalg.eigvalsh(A)[0]:.3g})") from None
        Bmat = A.copy()
    else:
        Bmat = np.eye(n)
    xs = solve_exact(A, b, consistency_tol, where)
    Binv = np.linalg.inv(Bmat)
    Binv = 0.5 * (Binv + Binv.T)
    ABinv = A @ Binv
    rowB = np.einsum("ij,ij->i", ABinv, A)
    rown = np.einsum("ij,ij->i", A, A)
    if np.any(rown == 0.0):
        i = int(np.flatnonzero(rown == 0.0)[0])
        raise TheoryBenchError(f"{where}: row {i + 1} of A is zero (a_i = 0: the row sketch e_i is undefined)")
    arrays = {"A": A, "b": b, "xstar": xs, "Bmat": Bmat, "Binv": Binv, "ABinv": ABinv, "rowB": rowB,
              "cum_rows": cumulative(rown), "cum_conv": cumulative(rowB)}
    sv = np.linalg.svd(A, compute_uv=False)
    consts = {"m": Constant(float(m), "size"), "n": Constant(float(n), "size"),
              "sigma_min2": Constant(float(sv[-1] ** 2), "numerical (SVD): lambda_min(A^T A)"),
              "frob2": Constant(float(rown.sum()), "closed form: ||A||_F^2")}
    prob = VectorProblem(name, -1, np.zeros((1, 0)), n, np.zeros(n), constants=consts, settings=settings or {},
                         arrays=arrays, dims={"m": m}, family_name="linear-system")
    return prob


def cumulative(w):
    """Cumulative probabilities of weights ``w`` with the last entry exactly 1 (a draw u in [0, 1) picks
    the first i with u < cum[i])."""
    c = np.cumsum(np.asarray(w, dtype=np.float64))
    c = c / c[-1]
    c[-1] = 1.0
    return c


@register_problem("linear-system", [
    Param("kind", "general", "generated A: general (m x n Gaussian rows, norms from 1 to row_scale) or pd "
          "(n x n symmetric positive definite, diagonal from 1 to row_scale)", kind="choice", choices=("general", "pd")),
    Param("m", None, "rows of a generated general A (default 3 n; pd: n)", kind="int", low=1, high=100_000),
    Param("n", 4, "columns of a generated A", kind="int", low=1, high=2_000),
    Param("row_scale", 30.0, "largest / smallest row norm (general) or diagonal entry (pd)", low=1.0, high=1e8),
    Param("data_seed", 0, "seed of the generated A and x* (numpy default_rng)", kind="int", low=0, high=2**62),
    Param("data", "", "a .npz (arrays A, b), .npy or CSV ([A | b]) file of a consistent system (replaces the "
          "generated one)", kind="str"),
    Param("B", "auto", "the geometry B: identity, A (A symmetric positive definite) or auto (A for kind=pd, "
          "else identity)", kind="choice", choices=("auto", "identity", "A")),
    Param("consistency_tol", 1e-9, "relative least-squares residual above which a system is inconsistent",
          low=0.0, high=1.0),
], reference="Gower, Richtarik, SIMAX 36(4) 2015 (arXiv 1506.03296)")
def linear_system(kind, m, n, row_scale, data_seed, data, B, consistency_tol):
    """A consistent full-column-rank system ``A x = b`` (generated with a seed, or ``-p data=FILE``), with
    B = I or B = A, for sketch-and-project; start x0 = 0."""
    if data:
        A, b = load_system(data)
        where = f"parameter 'data' ({data!r})"
        Bc = "identity" if B == "auto" else B
    else:
        if kind == "pd" and m is not None and m != n:
            raise TheoryBenchError(f"parameter 'm': kind=pd makes an n x n matrix (n = {n}); got m = {m}")
        mm = n if kind == "pd" else (3 * n if m is None else m)
        if mm < n:
            raise TheoryBenchError(f"parameter 'm' must be at least n = {n} (full column rank), got {mm}")
        if mm * n > MAX_ENTRIES:
            raise TheoryBenchError(f"parameters 'm' and 'n': a generated A has at most {MAX_ENTRIES:g} entries, got "
                                   f"m x n = {mm} x {n}; give a larger system as -p data=FILE")
        A, b = generate(kind, mm, n, data_seed, row_scale)
        where = f"the generated system (kind={kind}, m={mm}, n={n}, data_seed={data_seed})"
        Bc = ("A" if kind == "pd" else "identity") if B == "auto" else B
    return make_instance(A, b, Bc, consistency_tol, where=where)


# ------------------------------------------------------------------------------------------ exact theory

def sketch_outcomes(prob, sketch, block_size=2):
    """The discrete sketch's outcomes: ``[(p, rows)]``, probability and the rows S selects (S = I_{:, rows}).

    kaczmarz: e_i with p_i = ||a_i||^2 / ||A||_F^2; kaczmarz-uniform: e_i with 1/m; coordinate: e_i with the
    convenient probabilities a_i^T B^{-1} a_i / tr(A B^{-1} A^T) (A_ii / tr A for B = A); block: k = block_size
    rows uniformly without replacement (every one of the C(m, k) subsets with probability 1 / C(m, k))."""
    A = prob.arrays["A"]
    m = A.shape[0]
    if sketch in ("kaczmarz", "kaczmarz-uniform", "coordinate"):
        w = {"kaczmarz": np.einsum("ij,ij->i", A, A), "kaczmarz-uniform": np.ones(m),
             "coordinate": prob.arrays["rowB"]}[sketch]
        p = w / w.sum()
        return [(float(p[i]), (i,)) for i in range(m)]
    if sketch == "block":
        k = min(int(block_size), m)
        count = math.comb(m, k)
        if count > MAX_BLOCKS:
            raise TheoryBenchError(f"parameter 'block_size': the exact E[Z] of the block sketch sums C({m}, {k}) = "
                                   f"{count} blocks, more than {MAX_BLOCKS}; take a smaller m or block size")
        return [(1.0 / count, rows) for rows in combinations(range(m), k)]
    raise TheoryBenchError(f"sketch {sketch!r} is not discrete (the discrete ones: {', '.join(DISCRETE)})")


def Z_of(prob, rows):
    """``Z = A^T S (S^T A B^{-1} A^T S)^+ S^T A`` for S = I_{:, rows}."""
    A, Binv = prob.arrays["A"], prob.arrays["Binv"]
    AS = A[list(rows)]
    return AS.T @ np.linalg.pinv(AS @ Binv @ AS.T) @ AS


def gaussian_W(Sigma, epsrel=1e-13):
    """``E[eta eta^T / ||eta||^2]`` for eta ~ N(0, Sigma), exactly up to quadrature: with Sigma = U diag(l) U^T,
    it is U diag(w) U^T, ``w_i = int_0^inf l_i / (1 + 2 t l_i) prod_k (1 + 2 t l_k)^{-1/2} dt`` (from
    1/||eta||^2 = int_0^inf exp(-t ||eta||^2) dt and the Gaussian moments; sum_i w_i = 1). Returns
    ``(W, max quadrature error estimate)``. The integral is taken in s = log(t lambda_max) over
    [S_LOW, S_HIGH]: the integrand is below e^S_LOW l_i / lambda_max at the lower end and decays at least like
    exp(-s/2) at the upper end (n >= 1), so the cut tails are below 1e-21."""
    from scipy.integrate import quad
    lam, U = np.linalg.eigh(0.5 * (Sigma + Sigma.T))
    lam = np.maximum(lam, 0.0)
    scale = 1.0 / max(float(lam.max()), np.finfo(float).tiny)
    w, err = np.empty(lam.size), 0.0
    for i in range(lam.size):
        def f(s, i=i):
            t = scale * math.exp(s)
            return t * lam[i] / (1.0 + 2.0 * t * lam[i]) * math.exp(-0.5 * np.log1p(2.0 * t * lam).sum())
        v, e = quad(f, S_LOW, S_HIGH, epsabs=0.0, epsrel=epsrel, limit=400)
        w[i], err = v, max(err, e)
    return (U * w) @ U.T, err


def expected_Z(prob, sketch, block_size=2):
    """``E[Z]`` of a sketch on ``prob``: exact sums over the outcomes of the discrete sketches
    (:func:`sketch_outcomes`); for ``gaussian`` (S ~ N(0, I_m), one column) ``B^{1/2} W B^{1/2}`` with W of
    :func:`gaussian_W` for Sigma = B^{-1/2} A^T A B^{-1/2} (exact up to the quadrature's error, ~1e-13)."""
    A, Bmat = prob.arrays["A"], prob.arrays["Bmat"]
    if sketch == "gaussian":
        Bh = _sqrtm(Bmat)
        Bmh = np.linalg.inv(Bh)
        W, _ = gaussian_W(Bmh @ A.T @ A @ Bmh)
        return Bh @ W @ Bh
    EZ = np.zeros((A.shape[1], A.shape[1]))
    for p, rows in sketch_outcomes(prob, sketch, block_size):
        EZ += p * Z_of(prob, rows)
    return 0.5 * (EZ + EZ.T)


def _sqrtm(B):
    lam, U = np.linalg.eigh(B)
    return (U * np.sqrt(lam)) @ U.T


def rho(prob, EZ):
    """``rho = 1 - lambda_min(B^{-1/2} E[Z] B^{-1/2})`` (Gower, Richtarik 2015, Sec. 4: the rate of the expected error)."""
    Bmh = np.linalg.inv(_sqrtm(prob.arrays["Bmat"]))
    return 1.0 - float(np.linalg.eigvalsh(Bmh @ EZ @ Bmh)[0])


def iteration_matrix(prob, EZ):
    """``I - B^{-1} E[Z]``: E[x_{k+1} - x*] = (I - B^{-1} E[Z]) E[x_k - x*]."""
    return np.eye(EZ.shape[0]) - prob.arrays["Binv"] @ EZ


def expected_error(prob, EZ, ks, x0=None):
    """``E[x_k - x*] = (I - B^{-1} E[Z])^k (x_0 - x*)`` for each k in ``ks`` (rows)."""
    T = iteration_matrix(prob, EZ)
    e = (prob.x0 if x0 is None else np.asarray(x0, dtype=float)) - prob.arrays["xstar"]
    out, cur, k0 = [], e.copy(), 0
    for k in ks:
        cur = np.linalg.matrix_power(T, int(k) - k0) @ cur
        k0 = int(k)
        out.append(cur.copy())
    return np.array(out)


def second_moment_map(prob, sketch, block_size=2):
    """The n^2 x n^2 matrix of ``C -> E[(I - B^{-1} Z) C (I - B^{-1} Z)^T]`` (C = E[e_k e_k^T], e_k = x_k - x*),
    exact for the discrete sketches; its spectral radius is the asymptotic rate of E ||x_k - x*||_B^2."""
    n = prob.dim
    Binv = prob.arrays["Binv"]
    Phi = np.zeros((n * n, n * n))
    for p, rows in sketch_outcomes(prob, sketch, block_size):
        Q = np.eye(n) - Binv @ Z_of(prob, rows)
        Phi += p * np.kron(Q, Q)
    return Phi


def expected_err_B2(prob, sketch, ks, block_size=2, x0=None):
    """Exact ``E ||x_k - x*||_B^2`` for each k in ``ks`` (discrete sketches), from :func:`second_moment_map`."""
    Phi = second_moment_map(prob, sketch, block_size)
    e = (prob.x0 if x0 is None else np.asarray(x0, dtype=float)) - prob.arrays["xstar"]
    c, k0, out = np.outer(e, e).reshape(-1), 0, []
    Bmat = prob.arrays["Bmat"]
    for k in ks:
        c = np.linalg.matrix_power(Phi, int(k) - k0) @ c
        k0 = int(k)
        out.append(float(np.sum(Bmat * c.reshape(prob.dim, prob.dim))))
    return np.array(out)


def second_moment_rate(prob, sketch, block_size=2):
    """The spectral radius of :func:`second_moment_map` (between rho^2 and rho)."""
    return float(np.max(np.abs(np.linalg.eigvals(second_moment_map(prob, sketch, block_size)))))
