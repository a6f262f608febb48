"""Stage 5, report: render one audit for people and machines.

In: a scored :class:`~auditor.model.Audit` plus its history. Out: text (terminal, Markdown, HTML, JSON,
SARIF, GitHub annotations). ``registry`` maps each format name to its reporter; HTML and Markdown share one
view model (``view``); every reporter reads only the model.
"""
