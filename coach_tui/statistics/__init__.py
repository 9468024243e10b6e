"""Statistics over reps and sets (A/B tests): intervals, differences, effect sizes, verdicts."""
