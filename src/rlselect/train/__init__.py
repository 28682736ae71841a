"""GRPO training (TRL GRPOTrainer) and the selection schedules that drive it."""
