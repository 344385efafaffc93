"""Local steps with a clipped server jump (kernel ``theorybench.kernels.localgdj``)."""
from ..algorithms import Algorithm, register_algorithm
from ..params import Param

# ======================================================================================================
# Local steps with a clipped server jump (Demidovich et al., arXiv 2412.02781), kernel
# ``theorybench.kernels.localgdj``. Defaults: tau = 10 local steps (the authors' script), alpha = 1e-6
# (the middle of LJ-1's quick grid), c0 = 1e3, c1 = 1e-2, full local gradients (batch_size = 0; the
# authors' minibatches are batch_size = 8, for the quartic-points problem).
# ======================================================================================================
_LJ_ALPHA = Param("alpha", 1e-6, "client stepsize alpha (the authors' client_lr)", low=0.0, low_open=True)
_LJ_TAU = Param("local_steps", 10, "local steps tau per communication round", kind="int", low=1, high=10**7)
_LJ_C0 = Param("c0", 1e3, "c0 of the server step 1/(c0 + c1 ||g_p||)", low=0.0, low_open=True)
_LJ_C1 = Param("c1", 1e-2, "c1 of the server step 1/(c0 + c1 ||g_p||) (0: no clipping)", low=0.0)
_LJ_BATCH = Param("batch_size", 0, "points per local gradient, drawn with replacement from the client's "
                  "shard (0: the full local gradient; > 0 needs the quartic-points problem)",
                  kind="int", low=0, high=10**7)
_LJ_REF = "Demidovich et al., arXiv 2412.02781 (authors' fourth-order script)"

for _a in [
    Algorithm("clip-localgdj", "localgdj", 0, (_LJ_ALPHA, _LJ_TAU, _LJ_C0, _LJ_C1, _LJ_BATCH),
              "Clip-LocalGDJ: every client runs tau steps x <- x - alpha g from x_p; "
              "g_p = sum_m (x_p - x_{p,tau}^m)/(alpha M tau); server jump x_{p+1} = x_p - g_p/(c0 + c1 ||g_p||).",
              _LJ_REF),
    Algorithm("fedavg-gd", "localgdj", 1, (_LJ_ALPHA, _LJ_TAU, _LJ_BATCH),
              "FedAvg with local (full or minibatch) gradient steps: tau steps x <- x - alpha g per client, "
              "x_{p+1} = mean_m x_{p,tau}^m.", "McMahan et al. 2017; " + _LJ_REF + " (baseline)"),
]:
    register_algorithm(_a)
