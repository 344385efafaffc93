"""Hyperparameters of the local-steps methods with a clipped server jump (Demidovich et al., arXiv 2412.02781):
``clip-localgdj`` and ``fedavg-gd`` run on the vector template (``theorybench.methods.localgdj_vector``, instance
``problems.quartic_points``); their ``Param`` declarations live here, one source for defaults, ranges and
meanings. Defaults: tau = 10 local steps (the authors' script), alpha = 1e-6 (the middle of LJ-1's quick grid),
c0 = 1e3, c1 = 1e-2, full local gradients (batch_size = 0; the authors' minibatches are batch_size = 8)."""
from ..params import Param

_LJ_ALPHA = Param("alpha", 1e-6, "client stepsize alpha (the authors' client_lr)", low=0.0, low_open=True)
_LJ_TAU = Param("local_steps", 10, "local steps tau per communication round", kind="int", low=1, high=10**7)
_LJ_C0 = Param("c0", 1e3, "c0 of the server step 1/(c0 + c1 ||g_p||)", low=0.0, low_open=True)
_LJ_C1 = Param("c1", 1e-2, "c1 of the server step 1/(c0 + c1 ||g_p||) (0: no clipping)", low=0.0)
_LJ_BATCH = Param("batch_size", 0, "points per local gradient, drawn with replacement from the client's "
                  "shard (0: the full local gradient; > 0 needs the quartic-points problem)",
                  kind="int", low=0, high=10**7)
_LJ_REF = "Demidovich et al., arXiv 2412.02781 (authors' fourth-order script)"
