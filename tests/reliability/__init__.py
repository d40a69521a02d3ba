"""Reliability and security tests (issue 4): faults, floods, hostile input and a soak.

Every test here counts messages end to end and fails when one is lost,
doubled or reordered; docs/reliability.md tabulates what they try and what
each one caught when its guarantee was broken on purpose.
"""
