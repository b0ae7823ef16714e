"""The start page of a signed-in person (``/mijn``): what they can do now, their proposals,
what they follow, and for the board what waits for them (docs/start-page.md)."""
