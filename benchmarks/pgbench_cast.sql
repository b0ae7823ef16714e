-- What PostgreSQL alone can do with the statements of one cast, driven by pgbench (a C client,
-- prepared statements): the database's own ceiling for casting on this machine, to compare with
-- cast_capacity.py (the cast through the app's code, no HTTP) and load.py (the whole web flow).
--
--   psql -h 127.0.0.1 -U postgres -d bench -c "CREATE TABLE bench_participation (LIKE participation INCLUDING ALL);
--     CREATE TABLE bench_ballot (LIKE ballot INCLUDING ALL); CREATE TABLE bench_choice (LIKE ballot_choice INCLUDING ALL)"
--   pgbench -h 127.0.0.1 -U postgres -n -M prepared -c 4 -j 2 -T 10 -D round=<voting round> -f benchmarks/pgbench_cast.sql bench
--   psql -h 127.0.0.1 -U postgres -d bench -c "DROP TABLE bench_participation, bench_ballot, bench_choice"
--
-- The copies have the tables' indexes and checks but no foreign keys (a little cheaper than the
-- real tables). The code's update rewrites a random code's row without changing it (the same
-- work as marking it used; the seed's fresh codes stay fresh). An upper bound, in short.
\set c random(1, 2000000000)
\set code random(1, 300000)
\set b random(1, 9000000000000000)
BEGIN;
SELECT phase, result_opens FROM budget_round WHERE id = :round FOR SHARE;
SELECT voting_code.id, code_batch.area_id FROM voting_code JOIN code_batch ON code_batch.id = voting_code.batch_id
  WHERE voting_code.id = :code AND voting_code.round_id = :round AND NOT voting_code.used;
SELECT id, coalesce(board_cost_cents, cost_cents) FROM proposal
  WHERE round_id = :round AND state = 'admitted' ORDER BY id LIMIT 3;
INSERT INTO bench_participation (round_id, code_id, channel) VALUES (:round, :c, 'code');
UPDATE voting_code SET used = used WHERE id = :code;
INSERT INTO bench_ballot (id, round_id, receipt_hash, counted)
  VALUES (:b::text, :round, md5(:b::text), true);
INSERT INTO bench_choice (ballot_id, proposal_id, points)
  VALUES (:b::text, 1, 1), (:b::text, 2, 1), (:b::text, 3, 1);
COMMIT;
