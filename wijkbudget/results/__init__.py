"""Results: closing the vote, the tally with the round's rule, the immutable result snapshot,
the public results page with its downloads, and the board's "what if" comparison."""
