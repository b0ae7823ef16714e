"""The tally engine: pure Python (and numpy), no Flask and no database.

- ``model``: an election (projects, budget, ballots) as the rules and the file reader see it;
- ``pabulib``: reading and writing the ``.pb`` format of pabulib.org;
- ``rules``: greedy and the Method of Equal Shares, with explanations per project (the public
  entry: ``rules.run``); below it ``prep`` (the election in index form), ``exact`` (the exact
  reference run of MES), ``engine`` with ``fastrun`` and ``replay`` (the fast run), ``search``
  (the add-one search) and ``parallel`` (that search in two processes, when asked for);
- ``command``: the counter on the command line (``python -m wijkbudget.tally``).
"""
