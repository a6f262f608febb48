"""Stage 4, status: turn what was seen into evidence, scores, completion, a diagnosis and a gate verdict.

In: an :class:`~auditor.model.Audit` (inventory, outcomes, findings, probe results). Out: the audit with its
:class:`~auditor.model.Score` per category and :class:`~auditor.model.Completion`; per-test evidence
(``evidence``), the status summary every report shows (``summary``), the diagnosis (``diagnose``), the
history and trend (``history``), and the gate's violations (``gate``).
"""
