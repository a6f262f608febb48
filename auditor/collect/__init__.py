"""Stage 1, collect: what tests exist and what their source says, before anything runs.

In: the project's files and its ``[tool.auditor]`` / pytest settings (:class:`auditor.config.AuditConfig`).
Out: an :class:`~auditor.collect.inventory.Inventory` (every test as a :class:`~auditor.model.TestCase`, per
category, with markers, parametrize counts and suppressions) and static findings from the rule engine.

The scan and the rule engine share one project index, so they live together: ``inventory`` walks the tree,
``analyse`` runs the rules over it, ``incremental``/``cache`` re-analyse only what changed, ``scan`` is the
entry point of ``auditor scan``, and ``rules/`` is the catalogue of every rule, static, runtime and probe.
"""
