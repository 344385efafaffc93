"""Muon and non-Euclidean methods on matrix counterexamples (kernel ``theorybench.kernels.muon``;
Parshakova, Khaled, Crawshaw, Garrigos, Gower, arXiv 2605.08980). Every method takes a step schedule by
name: ``constant`` (alpha0), ``power`` (alpha0/(t+1)^power), ``polyak`` ((f - f_lower)/||G||_* for
normalized methods, /||G||_*^2 for the others, capped at alpha_max), ``random`` (alpha0 u_t, u_t uniform
on (0, 1], counter-based)."""
from ..algorithms import CHOICE_CODES, Algorithm, register_algorithm
from ..kernels.muon import SCHEDULES
from ..params import Param

CHOICE_CODES.setdefault("schedule", dict(SCHEDULES))

_ALPHA0 = Param("alpha0", 1.0, "base step alpha0 (constant value; numerator of power; scale of random; "
                "Momo's lr; EF's gamma)", low=0.0)
_SCHED = Param("schedule", "power", "step schedule: constant, power, polyak or random", kind="choice",
               choices=tuple(SCHEDULES))
_POWER = Param("power", 0.51, "exponent of the power schedule alpha0/(t+1)^power", low=0.0)
_BETA = Param("beta", 0.0, "momentum b: M_t = b M_{t-1} + (1-b) G_t", low=0.0, high=1.0, high_open=True)
_BETA9 = Param("beta", 0.9, "momentum b: M_t = b M_{t-1} + (1-b) G_t", low=0.0, high=1.0, high_open=True)
_NS = Param("ns_steps", 5, "Newton-Schulz iterations", kind="int", low=1, high=100)
_FLOW = Param("f_lower", 0.0, "f* (or a lower bound) used by the Polyak step and Momo")
_AMAX = Param("alpha_max", 1e300, "cap on the Polyak step", low=0.0, low_open=True)
_COMMON = (_ALPHA0, _SCHED, _POWER, _FLOW, _AMAX)
_REF = "Parshakova, Khaled, Crawshaw, Garrigos, Gower, arXiv 2605.08980"
_REF_V = "Crawshaw, Modi, Liu, Gower, arXiv 2510.09827 (authors' current optimizer code)"

for _a in [
    Algorithm("muon", "muon", 0, _COMMON + (_BETA,),
              "Muon as analysed: M_t = b M_{t-1} + (1-b) G_t, W <- W - alpha_t polar(M_t) (exact polar by SVD).",
              _REF),
    Algorithm("muon-ns", "muon", 1, _COMMON + (_BETA, _NS),
              "Muon with Newton-Schulz: polar(M_t) replaced by ns_steps quintic iterations (3.4445, -4.7750, "
              "2.0315) on M_t/||M_t||_F.", _REF),
    Algorithm("signed-momentum", "muon", 2, _COMMON + (_BETA,),
              "Signed momentum: W <- W - alpha_t sign(M_t) (entrywise, sign(0) = 0).", _REF),
    Algorithm("sign-descent", "muon", 3, _COMMON,
              "Sign subgradient descent: W <- W - alpha_t sign(G_t).", _REF),
    Algorithm("subgradient", "muon", 4, _COMMON,
              "Euclidean subgradient descent: W <- W - alpha_t G_t (Polyak: alpha_t = (f - f*)/||G_t||_F^2).",
              "Polyak 1969"),
    Algorithm("ef", "muon", 5, _COMMON,
              "Error feedback with the rank-scaled polar compressor: P = gamma_t G_t + E, "
              "Delta = (||P||_nuc/rank P) polar(P), W <- W - Delta, E <- P - Delta.", _REF),
    Algorithm("ef-muon", "muon", 6, _COMMON + (_BETA9,),
              "EF-Muon: EF on the momentum, P = gamma_t M_t + E.", _REF),
    Algorithm("muonmax", "muon", 7, _COMMON + (_BETA9,),
              "MuonMax (FOLLOWS THE AUTHORS' CURRENT CODE, may differ from the paper): W <- W - alpha_t "
              "||M_t||_nuc polar(M_t) (non-normalized; one matrix = one Muon layer).", _REF_V),
    Algorithm("momo", "muon", 8, _COMMON + (_BETA9,),
              "Momo (FOLLOWS THE AUTHORS' CURRENT CODE): tau = min(lr, max(fbar - lb + <d, W> - gbar, 0)/||d||^2), "
              "W <- W - tau d with averaged d, fbar, gbar (lr = the schedule's alpha_t, lb = f_lower).", _REF_V),
]:
    register_algorithm(_a)
