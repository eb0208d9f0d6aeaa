-- sqlite3 workload: generated tables (recursive CTE), an index, aggregates, a join and a sorted window query.
-- Row count from the shell: sqlite3 :memory: -cmd '.parameter set @n 200000' '.read query.sql'
CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c REAL);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < @n)
INSERT INTO t SELECT i, (i * 7919) % 10007, printf('name%05d', (i * 31) % 50000), (i % 1000) / 7.0 FROM s;
CREATE TABLE u(a INTEGER PRIMARY KEY, label TEXT);
WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 10006)
INSERT INTO u SELECT i, 'g' || (i % 97) FROM s;
CREATE INDEX t_b ON t(b);
SELECT count(*), sum(a), printf('%.3f', avg(c)) FROM t;
SELECT count(DISTINCT b), min(b), max(b) FROM t;
SELECT u.label, count(*), sum(t.a) FROM t JOIN u ON t.a = u.a GROUP BY u.label ORDER BY 3 DESC LIMIT 3;
SELECT count(*) FROM t WHERE b BETWEEN 'name10000' AND 'name20000';
SELECT sum(x) FROM (SELECT a - lag(a) OVER (ORDER BY b, id) AS x FROM t);
UPDATE t SET c = c * 2 WHERE a % 3 = 0;
DELETE FROM t WHERE id % 5 = 0;
SELECT count(*), printf('%.3f', sum(c)) FROM t;
