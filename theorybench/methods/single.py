"""Single-machine methods under (L0,L1)-smoothness, adaptive methods, and EF21 / normalized EF21
(kernel ``theorybench.kernels.single``; the papers are named per method). One round is one step: ``--steps T`` runs
T steps. Defaults are the papers' values where a paper fixes them."""
import numpy as np

from ..algorithms import CHOICE_CODES, Algorithm, register_algorithm
from ..kernels.muon import SCHEDULES
from ..params import Param

CHOICE_CODES.setdefault("schedule", dict(SCHEDULES))

ETA = Param("eta", 0.01, "stepsize eta", low=0.0, low_open=True)
L0 = Param("L0", 4.0, "smoothness constant L0 of the step eta/(L0 + L1 ||g||) (Gorbunov et al.: (4, 3) on x^4)",
           low=0.0, low_open=True)
L1 = Param("L1", 3.0, "smoothness constant L1 of the step eta/(L0 + L1 ||g||)", low=0.0)
GAMMA_CLIP = Param("gamma", 1.0, "clipping parameter gamma (threshold gamma/eta under step clipping, gamma "
                   "under gradient clipping)", low=0.0, low_open=True)
CONVENTION = Param("convention", "step", "clipping convention: step (x - min(eta, gamma/|g|) g, the authors' "
                   "code) or grad (x - eta min(1, gamma/|g|) g, Zhang et al.)", kind="choice",
                   choices=("step", "grad"))
R_HAT = Param("R_hat", 1.0, "R-hat of the normalized-GD schedule beta_k = R_hat/sqrt(k+1) (an estimate of "
              "||x0 - x*||)", low=0.0, low_open=True)
F_STAR = Param("f_star", 0.0, "f* used by the Polyak step (every section-3 instance has f* = 0; give the "
               "problem's constant f_star otherwise)")
LAMBDA0 = Param("lambda0", 1e-6, "AdGD's first stepsize lambda_0", low=0.0, low_open=True)
BETA1 = Param("beta1", 0.9, "momentum parameter beta1", low=0.0, high=1.0, high_open=True)
BETA2 = Param("beta2", 0.999, "second-moment parameter beta2", low=0.0, high=1.0, high_open=True)
EPS = Param("eps", 1e-8, "denominator offset epsilon", low=0.0)
GAMMA_ADA = Param("gamma", 1.0, "AdaGrad's initial accumulator b0 = gamma (denominator sqrt(gamma^2 + sum "
                  "||g_s||^2))", low=0.0)
K = Param("k", 10, "compressor size k (entries kept per message)", kind="int", low=1, high=10**7)
COMPRESSOR = Param("compressor", "topk", "compressor: topk (k largest entries) or randk (k uniform entries, "
                   "unscaled)", kind="choice", choices=("topk", "randk"))
GAMMA0 = Param("gamma0", 1.0, "normalized EF21's gamma0 (step gamma0/sqrt(T+1) for a run of T steps)",
               low=0.0, low_open=True)
ETA_EF = Param("eta", 0.01, "EF21's constant stepsize gamma (the paper's 1/(L + Ltilde sqrt(beta/theta)))",
               low=0.0, low_open=True)

SCHED = Param("schedule", "constant", "step schedule of eta: constant, power (eta/(t+1)^power), polyak ((f - f_lower)"
              "/||g||^2; /||g||_1 for SignSGD) or random (eta u_t)", kind="choice",
              choices=("constant", "power", "polyak", "random"))
POWER = Param("power", 0.5, "exponent of the power schedule eta/(t+1)^power", low=0.0)
F_LOWER = Param("f_lower", 0.0, "f* (or a lower bound) of the Polyak schedule")
A_MAX = Param("alpha_max", 1e300, "cap on the Polyak schedule's step", low=0.0, low_open=True)
SCHEDULE = (SCHED, POWER, F_LOWER, A_MAX)

for _a in [
    Algorithm("gd", "single", 0, (ETA,) + SCHEDULE, "Gradient descent x <- x - eta g.", "textbook"),
    Algorithm("l0l1-gd", "single", 1, (ETA, L0, L1) + SCHEDULE,
              "(L0,L1)-GD / smoothed clipping x <- x - eta/(L0 + L1 ||g||) g.",
              "Gorbunov et al. arXiv 2409.14989; Vankov et al. arXiv 2410.10800"),
    Algorithm("clipped-gd", "single", 2, (ETA, GAMMA_CLIP, CONVENTION) + SCHEDULE,
              "Clipped GD: step convention x - min(eta, gamma/||g||) g; grad convention x - eta min(1, gamma/||g||) g.",
              "Zhang, He, Sra, Jadbabaie, ICLR 2020"),
    Algorithm("normalized-gd", "single", 3, (R_HAT,),
              "Normalized GD x <- x - beta_k g/||g|| with beta_k = R_hat/sqrt(k+1).", "Vankov et al. arXiv 2410.10800"),
    Algorithm("polyak", "single", 4, (F_STAR,), "Polyak stepsize eta_k = (f(x_k) - f*)/||g_k||^2.",
              "Polyak 1987; Gorbunov et al. arXiv 2409.14989"),
    Algorithm("adgd", "single", 5, (LAMBDA0,),
              "AdGD: lambda_k = min(sqrt(1 + theta_{k-1}) lambda_{k-1}, ||x_k - x_{k-1}||/(2||g_k - g_{k-1}||)).",
              "Malitsky, Mishchenko, ICML 2020"),
    Algorithm("generalized-signsgd", "single", 6, (ETA, BETA1, BETA2, EPS) + SCHEDULE,
              "Generalized SignSGD: m = b1 m + (1-b1) g; v = b2 v + (1-b2) m^2; x <- x - eta m/(sqrt(v) + eps).",
              "Crawshaw, Liu, Orabona, Zhang, Zhuang, NeurIPS 2022 (authors' code)"),
    Algorithm("signsgd", "single", 7, (ETA,) + SCHEDULE, "SignSGD x <- x - eta sign(g) (sign(0) = 0).", "Bernstein et al. 2018"),
    Algorithm("signsgd-momentum", "single", 8, (ETA, BETA1, EPS) + SCHEDULE,
              "SignSGD with momentum: generalized SignSGD with b2 = 0, x <- x - eta m/(|m| + eps).",
              "Crawshaw et al., NeurIPS 2022"),
    Algorithm("adam", "single", 9, (ETA, BETA1, BETA2, EPS) + SCHEDULE, "Adam with bias correction.", "Kingma, Ba 2015"),
    Algorithm("adagrad-norm", "single", 10, (ETA, GAMMA_ADA) + SCHEDULE,
              "AdaGrad-Norm x <- x - eta g_t/sqrt(gamma^2 + sum_{s<=t} ||g_s||^2).", "Ward, Wu, Bottou 2019"),
    Algorithm("decorrelated-adagrad-norm", "single", 11, (ETA, GAMMA_ADA) + SCHEDULE,
              "Decorrelated AdaGrad-Norm: the sum runs over s < t.", "Crawshaw, Liu, ICLR 2025"),
    Algorithm("adagrad", "single", 12, (ETA, GAMMA_ADA) + SCHEDULE,
              "Coordinate AdaGrad x_j <- x_j - eta g_j/sqrt(gamma^2 + sum_{s<=t} g_{s,j}^2).", "Duchi et al. 2011"),
    Algorithm("decorrelated-adagrad", "single", 13, (ETA, GAMMA_ADA) + SCHEDULE,
              "Decorrelated coordinate AdaGrad: the sums run over s < t.", "Crawshaw, Liu, ICLR 2025"),
    Algorithm("ef21", "single", 14, (ETA_EF, K, COMPRESSOR) + SCHEDULE,
              "EF21: x <- x - eta g; clients send C(grad f_i(x) - g_i); g_i += c_i; g = mean g_i (g_i^0 = grad f_i(x0)).",
              "Richtarik, Sokolov, Fatkhullin, NeurIPS 2021"),
    Algorithm("normalized-ef21", "single", 15, (GAMMA0, K, COMPRESSOR),
              "Normalized EF21 (DERIVED indexing): x <- x - gamma0/sqrt(T+1) g/||g||, then EF21's compressed update.",
              "Khirirat et al. arXiv 2410.16871"),
]:
    register_algorithm(_a)


def ef21_stepsize(L, L_tilde, k, d):
    """EF21's theoretical stepsize ``1/(L + Ltilde sqrt(beta/theta))`` for Top-k with ``alpha = k/d``:
    ``theta = 1 - sqrt(1 - alpha)``, ``beta = (1 - alpha)/(1 - sqrt(1 - alpha))``."""
    alpha = k / d
    theta = 1.0 - np.sqrt(1.0 - alpha)
    beta = (1.0 - alpha) / (1.0 - np.sqrt(1.0 - alpha))
    return 1.0 / (L + L_tilde * np.sqrt(beta / theta))
