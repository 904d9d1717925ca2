"""Antipsychotic monitoring protocols: declarative data compiled into durable-rules rulesets.

- :mod:`~cvrisk.rules.schema`: what a protocol file may say (pydantic; JSON Schema in docs/).
- :mod:`~cvrisk.rules.catalog`: finding and loading the shipped protocols.
- :mod:`~cvrisk.rules.episodes`: treatment episodes (the schedule's anchor) from prescriptions.
- :mod:`~cvrisk.rules.timeline`: due dates, windows and statuses of one schedule item.
- :mod:`~cvrisk.rules.facts`: the facts about a record that alert rules match.
- :mod:`~cvrisk.rules.engine`: compiling alert rules into durable-rules and running them.
- :mod:`~cvrisk.rules.evaluate`: ``evaluate`` and ``schedule``, which put it together.
"""
