"""Plan the scaling-law experiment before a big run (a ladder of small runs). See docs/ladder.md."""
