"""The hyperparameters of Muon and the non-Euclidean methods of Parshakova, Khaled, Crawshaw, Garrigos, Gower
(arXiv 2605.08980), as ``Param``s: one source for their defaults, ranges, choices and meaning. The methods
themselves (muon, muon-ns, signed-momentum, sign-descent, subgradient, ef, ef-muon, muonmax, momo) are
declared on the vector template in ``theorybench.methods.muon_vector``, which imports these. Every method takes
a step schedule by name: ``constant`` (alpha0), ``power`` (alpha0/(t+1)^power), ``polyak`` ((f - f_lower)/||G||_*
for normalized methods, /||G||_*^2 for the others, capped at alpha_max), ``random`` (alpha0 u_t, u_t uniform on
(0, 1], counter-based)."""
from ..algorithms import CHOICE_CODES
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
