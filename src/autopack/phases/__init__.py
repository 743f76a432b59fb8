"""What happens to a phase when its results come in: the one owner above runs, issues and governance."""
