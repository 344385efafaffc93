"""GD on separable logistic regression, Local GD and the batch perceptron (kernel
``theorybench.kernels.logistic``; Wu, Bartlett, Telgarsky, Yu, COLT 2024; Crawshaw, Woodworth, Liu,
ICLR 2025 / ICML 2025; Tyurin 2025). Defaults: eta = 1, K = 1, w0 = 0."""
from ..algorithms import Algorithm, register_algorithm
from ..params import Param

_ETA = Param("eta", 1.0, "stepsize eta (of the mean loss F; WBL's sum-loss stepsize is eta/n)", low=0.0,
             low_open=True)
_K = Param("local_steps", 1, "local steps K per round (K = 1: GD)", kind="int", low=1, high=10**7)
_ETA2 = Param("eta2", 1.0, "two-stage Local GD: the large stepsize eta_2 of the second stage", low=0.0,
              low_open=True)
_SW = Param("switch_c", 1.0 / 42.0, "two-stage Local GD: switch to eta_2 once F(w_r) <= switch_c gamma^2/"
            "(eta_2 K M) [secondary constant 1/42]", low=0.0)
_RTOL = Param("rtol", 1e-12, "a loss increase counts only above this relative tolerance", low=0.0)
_STOP = Param("stop_below", 0.0, "stop at the first t with F(w_t) <= stop_below/eta_eff (0: never; the rest of "
              "the trace is NaN)", low=0.0)
_CHECKS = Param("checks", 1, "1: per-step invariant checks (1/F recursion, WBTY bounds, perceptron inequality); "
                "0: skip them (transition times, horizon and divergence are always computed)", kind="int", low=0, high=1)
_RUN = Param("running", 1, "1: every running statistic (the loss at every step); 0: the loss only on recorded "
              "steps, the statistics that need it between records (tau_mono, tau_c, increases, recursion, "
              "average-loss bound) are NaN (faster sweeps)", kind="int", low=0, high=1)
_WBTY = "Wu, Bartlett, Telgarsky, Yu, COLT 2024"
_CWL = "Crawshaw, Woodworth, Liu, ICLR 2025 / ICML 2025"

for _a in [
    Algorithm("logistic-gd", "logistic", 0, (_ETA, _RTOL, _STOP, _CHECKS, _RUN),
              "GD w <- w - eta grad F(w) on the mean logistic loss (log-domain loss, stable sigmoid).", _WBTY),
    Algorithm("exp-gd", "logistic", 1, (_ETA, _RTOL, _STOP, _CHECKS, _RUN),
              "GD on the mean exponential loss F(w) = (1/n) sum exp(-<w, z_i>).", "Wu, Braverman, Lee, NeurIPS 2023"),
    Algorithm("logistic-local-gd", "logistic", 2, (_ETA, _K, _RTOL, _STOP, _CHECKS),
              "Local GD: each client K steps u <- u - eta grad F_m(u) from w_r, then the server averages.", _CWL),
    Algorithm("logistic-two-stage", "logistic", 3, (_ETA, _K, _ETA2, _SW, _RTOL, _STOP, _CHECKS),
              "Two-stage Local GD: eta (eta_1) until F(w_r) <= switch_c gamma^2/(eta_2 K M), then eta_2.",
              _CWL + " [secondary]"),
    Algorithm("perceptron", "logistic", 4, (_RTOL,),
              "Batch perceptron w <- w + sum_{i: <w, z_i> <= 0} z_i (ties count): GD's eta -> infinity limit.",
              "Tyurin 2025"),
]:
    register_algorithm(_a)
