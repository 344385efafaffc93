"""Instances for the edge of stability (Islamov, Crawshaw, Cohen, Gower, arXiv 2603.05002; Cohen et al.,
ICLR 2021), run by the kernel ``theorybench.kernels.steepest``:

- ``psd-quadratic``: ``f(w) = 1/2 w^T H w`` with a seeded random spectrum (DERIVED construction: the papers'
  quadratics were not readable), for the stability thresholds (ES-3);
- ``tanh-mlp``: the small tanh MLP of the edge-of-stability claims (n = 512 points x ~ N(0, I_32), 10
  classes, 32-64-64-10 without biases, 1/2 mean squared error, full batch), for ES-1 and ES-2.

Each carries its geometry: ``layers`` (the matrices of the spectral methods) and ``blocks`` (greedy block
CD), and exact Hessian-vector products (:meth:`EoSProblem.hvp`) for the sharpness.
"""
import numpy as np

from theorybench.errors import TheoryBenchError
from theorybench.kernels import mlp as mlp_np
from theorybench.params import Param
from theorybench.problem import Constant, Problem, register_problem

FAMILY_EOS = -7  # not a families.py code: the steepest kernel evaluates these models itself
QUADRATIC, MLP = 0, 1


def psd_quadratic(d, seed=0, cond=10.0, lam_max=1.0):
    """``H = Q diag(lam) Q^T`` with eigenvalues log-spaced in ``[lam_max/cond, lam_max]`` (d = 1: ``lam_max``),
    Q Haar-random (seeded); f(w) = 1/2 w^T H w, f* = 0. DERIVED."""
    rng = np.random.default_rng(seed)
    Q, R = np.linalg.qr(rng.normal(size=(d, d)))
    Q = Q * np.sign(np.diag(R))
    lam = np.logspace(np.log10(lam_max / cond), np.log10(lam_max), d) if d > 1 else np.array([lam_max])
    return (Q * lam) @ Q.T


def mlp_data(n=512, dim=32, classes=10, noise=0.5, seed=0):
    """The MLP's data: x ~ N(0, I_dim), classes = argmax(x A + noise N(0, 1)) with A ~ N(0, 1) (seeded;
    the scale of A is DERIVED: not given; docs/conventions.md, section "Muon and the edge of stability (DERIVED)"),
    one-hot targets."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, dim))
    A = rng.normal(size=(dim, classes))
    lab = np.argmax(X @ A + noise * rng.normal(size=(n, classes)), axis=1)
    return X, np.eye(classes)[lab]


def mlp_init(widths=(32, 64, 64, 10), seed=0):
    """Weights U(-1/sqrt(fan_in), 1/sqrt(fan_in)), flattened (W1, W2, W3 row-major)."""
    rng = np.random.default_rng(seed + 1000)
    return np.concatenate([rng.uniform(-1, 1, size=(a, b)).ravel() / np.sqrt(a)
                           for a, b in zip(widths[:-1], widths[1:])])


def _layer_table(shapes):
    out, off = [], 0
    for (a, b) in shapes:
        out.append((off, a, b))
        off += a * b
    return np.asarray(out, dtype=np.int64)


class EoSProblem(Problem):
    """A problem the ``steepest`` kernel evaluates: ``model`` (0 quadratic, 1 MLP), data ``H`` or ``X``,
    ``Y``, geometry ``layers`` (rows ``(offset, rows, cols)``) and ``blocks`` (offsets)."""

    def attach(self, model, H, X, Y, layers, blocks, widths=None):
        self.model = int(model)
        self.H = np.ascontiguousarray(H, dtype=np.float64)
        self.X = np.ascontiguousarray(X, dtype=np.float64)
        self.Y = np.ascontiguousarray(Y, dtype=np.float64)
        self.layers = np.ascontiguousarray(layers, dtype=np.int64)
        self.blocks = np.ascontiguousarray(blocks, dtype=np.int64)
        self.widths = widths
        return self

    @property
    def layer_shapes(self):
        return [(int(a), int(b)) for _, a, b in self.layers]

    @property
    def block_sizes(self):
        return np.diff(self.blocks).tolist()

    def value(self, x):
        return self.value_grad(x)[0]

    def grad(self, x):
        return self.value_grad(x)[1]

    def value_grad(self, x):
        """``(f(x), grad f(x))``."""
        x = self._x(x)
        if self.model == MLP:
            return mlp_np.loss_grad(x, self.X, self.Y, self.widths)
        g = self.H @ x
        return 0.5 * float(x @ g), g

    def client_value(self, i, x):
        return self.value(x)

    def client_grad(self, i, x):
        return self.grad(x)

    def hvp(self, x, v):
        """``H(x) v`` exactly (the quadratic's H; the MLP's R-operator)."""
        if self.model == QUADRATIC:
            return self.H @ np.asarray(v, dtype=np.float64)
        return mlp_np.hvp(self._x(x), np.asarray(v, dtype=np.float64), self.X, self.Y, self.widths)

    def hvp_at(self, x):
        """``v -> H(x) v`` for a fixed ``x`` (the MLP's passes at ``x`` computed once)."""
        if self.model == QUADRATIC:
            return lambda v: self.H @ np.asarray(v, dtype=np.float64)
        return mlp_np.hvp_at(self._x(x), self.X, self.Y, self.widths)

    def layer_list(self, x):
        """The layer matrices of ``x`` (views)."""
        x = np.asarray(x)
        return [x[o:o + a * b].reshape(a, b) for o, a, b in self.layers]


@register_problem("psd-quadratic", [
    Param("d", 6, "dimension", kind="int", low=1, high=4096),
    Param("cond", 10.0, "condition number lambda_max/lambda_min of H", low=1.0),
    Param("lam_max", 1.0, "largest eigenvalue of H", low=0.0, low_open=True),
    Param("seed", 0, "seed of the eigenvectors (Haar) and of the default start", kind="int", low=0),
    Param("m", 0, "rows of the matrix view of w for the spectral methods (m x d/m; 0: the column d x 1)",
          kind="int", low=0, high=4096),
    Param("block", 1, "block size of greedy block CD (contiguous blocks; the last may be shorter)",
          kind="int", low=1, high=4096),
], reference="DERIVED (Islamov, Crawshaw, Cohen, Gower, arXiv 2603.05002: quadratic stability theory)")
def psd_quadratic_problem(d, cond, lam_max, seed, m, block):
    """``f(w) = 1/2 w^T H w``, ``H = Q diag(lam) Q^T`` with eigenvalues log-spaced in ``[lam_max/cond,
    lam_max]``; default start a seeded random unit vector (all eigendirections present). DERIVED."""
    rows = d if m == 0 else m
    if d % rows:
        raise TheoryBenchError(f"parameter 'm' must divide d = {d} (the matrix view is m x d/m), got {m}")
    H = psd_quadratic(d, seed=seed, cond=cond, lam_max=lam_max)
    rng = np.random.default_rng(seed + 7)
    w0 = rng.normal(size=d)
    w0 /= np.linalg.norm(w0)
    blocks = np.unique(np.r_[np.arange(0, d, block), d])
    S_block = max(np.linalg.eigvalsh(H[a:b, a:b])[-1] for a, b in zip(blocks[:-1], blocks[1:]))
    p = EoSProblem("psd-quadratic", FAMILY_EOS, np.array([[d, cond, lam_max, seed, rows, block]], dtype=float), d,
                   w0, constants={
                       "f_star": Constant(0.0, "closed form"),
                       "lambda_max": Constant(float(lam_max), "closed form (the construction)"),
                       "S_block": Constant(float(S_block), "closed form: the block l1,2 ball's extreme points "
                                           "are unit vectors inside one block, so S = max_b lambda_max(H_bb)"),
                   })
    return p.attach(QUADRATIC, H, np.zeros((1, 1)), np.zeros((1, 1)), _layer_table([(rows, d // rows)]), blocks)


@register_problem("tanh-mlp", [
    Param("n", 512, "number of data points", kind="int", low=1, high=10**6),
    Param("dim", 32, "input dimension", kind="int", low=1, high=4096),
    Param("classes", 10, "number of classes (outputs)", kind="int", low=2, high=4096),
    Param("width", 64, "width of each hidden layer", kind="int", low=1, high=4096),
    Param("hidden", 2, "number of hidden tanh layers", kind="int", low=1, high=16),
    Param("noise", 0.5, "label noise: class = argmax(x A + noise N(0, 1))", low=0.0),
    Param("seed", 0, "seed of the data (and, + 1000, of the initialization)", kind="int", low=0),
], reference="Cohen et al., ICLR 2021; Islamov, Crawshaw, Cohen, Gower, arXiv 2603.05002 (DERIVED data)")
def tanh_mlp_problem(n, dim, classes, width, hidden, noise, seed):
    """The tanh MLP ``dim - width x hidden - classes`` without biases, 1/2 mean squared error on one-hot
    targets, full batch; default start the U(+-1/sqrt(fan_in)) initialization. Blocks of greedy block CD:
    the layers (DERIVED choice)."""
    widths = (dim,) + (width,) * hidden + (classes,)
    X, Y = mlp_data(n=n, dim=dim, classes=classes, noise=noise, seed=seed)
    layers = _layer_table(mlp_np.shapes(widths))
    D = mlp_np.n_params(widths)
    p = EoSProblem("tanh-mlp", FAMILY_EOS, np.array([[n, dim, classes, width, hidden, noise, seed]], dtype=float),
                   D, mlp_init(widths, seed=seed), constants={})
    return p.attach(MLP, np.zeros((1, 1)), X, Y, layers, np.r_[layers[:, 0], D], widths=widths)
