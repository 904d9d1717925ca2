"""Antipsychotic monitoring protocols: declarative data compiled into durable-rules rulesets.

- :mod:`~cvrisk.rules.schema`: what a protocol file may say (pydantic; JSON Schema in docs/).
- :mod:`~cvrisk.rules.catalog`: finding and loading the shipped protocols.
- :mod:`~cvrisk.rules.evaluate`: ``evaluate``, a pipeline of the stages below.
- :mod:`~cvrisk.rules.options`: the checked arguments of an evaluation.
- :mod:`~cvrisk.rules.courses`: antipsychotic courses from the record's prescriptions.
- :mod:`~cvrisk.rules.selection`: which protocols apply; :mod:`~cvrisk.rules.coverage`: what
  they leave uncovered.
- :mod:`~cvrisk.rules.episodes`: treatment episodes (the schedule's anchor) from prescriptions.
- :mod:`~cvrisk.rules.due` and :mod:`~cvrisk.rules.timeline`: the tests due, their windows and
  statuses.
- :mod:`~cvrisk.rules.facts`: the facts about a record that alert rules match.
- :mod:`~cvrisk.rules.engine`: compiling alert rules into durable-rules and running them.
- :mod:`~cvrisk.rules.scoring`: the risk scores of a report.
- :mod:`~cvrisk.rules.alerts`: fired rules as worded alerts, and the repeat tests they ask for.
- :mod:`~cvrisk.rules.report`: what ``evaluate`` and ``schedule`` return.
- :mod:`~cvrisk.rules.plan`: ``schedule``, the prescribing prompt.
"""
