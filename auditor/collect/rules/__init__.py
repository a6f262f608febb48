"""The rule catalogue: every rule (static AUD1xx, runtime AUD2xx, probe AUD3xx, scan AUD9xx), one module per family.

``registry`` defines :class:`~auditor.collect.rules.registry.RuleInfo` and builds findings; ``catalogue``
imports every family so the whole list is known.
"""
