"""Building blocks of the DR platform: one ComponentResource per block, plus the posture table.

Type tokens are `dr-platform:<module>:<Type>`; children are parented to their component; nothing is created
on import. Data resources carry `protect` and `retain_on_delete` (and AWS deletion protection where it exists).
"""
