"""The tally engine: pure Python (and numpy), no Flask and no database.

- ``model``: an election (projects, budget, ballots) as the rules and the file reader see it;
- ``pabulib``: reading and writing the ``.pb`` format of pabulib.org;
- ``rules``: greedy and the Method of Equal Shares, with explanations per project.
"""
