"""Stage 3, probe: re-run the tests that talked to a server with the server sabotaged, to prove them.

In: an :class:`~auditor.model.Audit` with its run outcomes, and the probe modes. Out: the same audit with a
:class:`~auditor.model.ProbeResult` per test and mode (killed or survived) and the probe findings (AUD3xx).
Sessions are planned from the run's outcomes and executed as pytest runs of the ``run`` stage's plugin.
"""
