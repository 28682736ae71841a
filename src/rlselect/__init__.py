"""rlselect: data selection for reinforcement learning with verifiable rewards (RLVR).

Stages: data -> rollouts -> features -> scores -> selection -> GRPO training -> evaluation -> report.
Sub-packages are imported lazily so that `import rlselect` stays cheap.
"""

__version__ = "0.1.0"
