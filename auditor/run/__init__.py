"""Stage 2, run: run each suite under pytest with the auditor's plugin and observe what each test did.

In: the inventory and the suite settings. Out: one :class:`~auditor.model.SuiteResult` per suite (an
:class:`~auditor.model.Outcome` per test with its :class:`~auditor.model.Observation`: HTTP exchanges,
assertions, warnings), or the same read from existing result files (``imported``).

The pytest plugin (``plugin``, the ``pytest11`` entry point) hosts both observation (``recorder``,
``intercept``, ``quiet``) and sabotage (``sabotage``, ``sabotage_http``, ``probe_hooks``), so sabotage sits here, below the
probe stage that plans it. ``plugin`` imports nothing else of the auditor until ``--audit`` is given.
``observe`` turns reports into outcomes (``skips`` says what kind each skip is) and ``funnel`` counts them.

``runner`` never loses a test: ``attempt`` watches each pytest process from outside (a test that kills it is
``crashed``, one that outruns ``test_timeout`` is ``hung``) and the runner starts pytest again on the rest;
``processes`` knows every process started, so a SIGTERM or SIGINT stops them all and a partial audit is written.
"""
