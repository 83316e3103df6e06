-- sqlite3 workload: build a table of generated rows, index it, query,
-- update, delete and query again. Run as
--   sqlite3 -cmd '.parameter set @rows N' DBFILE < sqlite.sql
-- on a fresh file. Every SELECT has a total order, so the output is the
-- same under every allocator. The page cache is set large so that the
-- allocator (not the disk) is what the run exercises.
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -131072;

CREATE TABLE item (
    id      INTEGER PRIMARY KEY,
    grp     INTEGER NOT NULL,
    name    TEXT NOT NULL,
    price   REAL NOT NULL,
    note    TEXT
);

BEGIN;
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < @rows)
INSERT INTO item (id, grp, name, price, note)
SELECT x,
       (x * 7919) % 1009,
       printf('item-%07d-%s', (x * 104729) % 1000003, substr(hex(x * 31), 1, 1 + x % 9)),
       ((x * 37) % 100000) / 100.0,
       CASE WHEN x % 4 = 0 THEN NULL ELSE printf('%.*c', 10 + x % 180, 'n') END
FROM n;
COMMIT;

CREATE INDEX item_grp ON item (grp, price);
CREATE INDEX item_name ON item (name);

SELECT count(*), sum(grp), round(sum(price), 2), sum(length(note)) FROM item;
SELECT grp, count(*), round(avg(price), 3) FROM item
 GROUP BY grp ORDER BY count(*) DESC, grp LIMIT 5;
SELECT name FROM item ORDER BY name LIMIT 3 OFFSET 1000;

BEGIN;
UPDATE item SET note = coalesce(note, '') || '-updated', price = price * 1.1
 WHERE grp % 3 = 0;
DELETE FROM item WHERE grp % 5 = 0;
COMMIT;

SELECT count(*), round(sum(price), 2), sum(length(note)) FROM item;
SELECT a.grp, count(*) FROM item a JOIN item b ON b.grp = a.grp + 1 AND b.id % 97 = 0
 WHERE a.id % 13 = 0 GROUP BY a.grp ORDER BY 2 DESC, 1 LIMIT 3;
SELECT group_concat(name, ',') FROM (SELECT name FROM item WHERE grp = 42 ORDER BY name LIMIT 20);
SELECT count(DISTINCT substr(name, 6, 3)) FROM item;
