-- 0004_partition_functions: day partitions for every RANGE-partitioned
-- timestamptz table in schema llmopt (outcomes, window_metrics, signals).
--
-- Partitions are named <table>_pYYYYMMDD and cover [YYYY-MM-DD 00:00 UTC,
-- next day 00:00 UTC). Rows whose day has no partition go to <table>_default;
-- ensure_partitions() moves them into the new partition when it creates one.
-- Creating or dropping a partition takes an ACCESS EXCLUSIVE lock on the
-- parent for a moment, which blocks writers: call ensure_partitions() ahead
-- of time (e.g. today - 1 .. today + 7, daily) rather than at midnight.

-- Partitioned tables handled by the two functions below: partition key of a
-- single timestamptz column, RANGE strategy, in schema llmopt.
CREATE FUNCTION llmopt.day_partitioned_tables()
RETURNS TABLE (parent regclass, key_column name, default_partition regclass)
LANGUAGE sql STABLE AS $$
    SELECT c.oid::regclass, a.attname, NULLIF(pt.partdefid, 0)::regclass
    FROM pg_partitioned_table pt
    JOIN pg_class c ON c.oid = pt.partrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = pt.partattrs[0]
    WHERE n.nspname = 'llmopt' AND pt.partstrat = 'r' AND pt.partnatts = 1
      AND a.atttypid = 'timestamptz'::regtype AND NOT c.relispartition
    ORDER BY c.relname
$$;
COMMENT ON FUNCTION llmopt.day_partitioned_tables() IS
  'The tables that ensure_partitions and drop_partitions_older_than manage: RANGE partitioned on one timestamptz column in schema llmopt';

CREATE FUNCTION llmopt.ensure_partitions(from_day date, to_day date)
RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    t record;
    d date;
    part text;
    lo timestamptz;
    hi timestamptz;
    has_rows boolean;
BEGIN
    IF from_day IS NULL OR to_day IS NULL OR to_day < from_day THEN
        RAISE EXCEPTION 'ensure_partitions needs from_day <= to_day, got % and %', from_day, to_day
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF to_day - from_day > 3660 THEN
        RAISE EXCEPTION 'ensure_partitions refuses % days at once (max 3661)', to_day - from_day + 1
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR t IN SELECT * FROM llmopt.day_partitioned_tables() LOOP
        d := from_day;
        WHILE d <= to_day LOOP
            part := format('%s_p%s', (SELECT relname FROM pg_class WHERE oid = t.parent),
                           to_char(d, 'YYYYMMDD'));
            IF to_regclass(format('llmopt.%I', part)) IS NULL THEN
                lo := d::timestamp AT TIME ZONE 'UTC';
                hi := (d + 1)::timestamp AT TIME ZONE 'UTC';
                -- CREATE ... PARTITION OF needs this lock anyway; taking it
                -- first keeps writers out while rows leave DEFAULT and avoids
                -- a lock upgrade that could deadlock with them.
                EXECUTE format('LOCK TABLE ONLY %s IN ACCESS EXCLUSIVE MODE', t.parent);
                has_rows := false;
                IF t.default_partition IS NOT NULL THEN
                    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE %I >= %L AND %I < %L)',
                                   t.default_partition, t.key_column, lo, t.key_column, hi)
                        INTO has_rows;
                END IF;
                IF has_rows THEN
                    -- a partition cannot be created while DEFAULT holds rows of its range
                    EXECUTE format('CREATE TEMP TABLE llmopt_moving AS SELECT * FROM %s WHERE %I >= %L AND %I < %L',
                                   t.default_partition, t.key_column, lo, t.key_column, hi);
                    EXECUTE format('DELETE FROM %s WHERE %I >= %L AND %I < %L',
                                   t.default_partition, t.key_column, lo, t.key_column, hi);
                END IF;
                EXECUTE format('CREATE TABLE llmopt.%I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                               part, t.parent, lo, hi);
                IF has_rows THEN
                    EXECUTE format('INSERT INTO %s SELECT * FROM llmopt_moving', t.parent);
                    DROP TABLE llmopt_moving;
                END IF;
                RETURN NEXT format('llmopt.%I', part);
            END IF;
            d := d + 1;
        END LOOP;
    END LOOP;
END
$$;
COMMENT ON FUNCTION llmopt.ensure_partitions(date, date) IS
  'Creates the missing day partitions (UTC days from_day..to_day inclusive) of every day-partitioned llmopt table, moving matching rows out of DEFAULT; returns the partitions created';

CREATE FUNCTION llmopt.drop_partitions_older_than(days integer)
RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    t record;
    p record;
    cutoff timestamptz;
    upper_bound timestamptz;
BEGIN
    IF days IS NULL OR days < 0 THEN
        RAISE EXCEPTION 'drop_partitions_older_than needs days >= 0, got %', days
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- midnight UTC, `days` days ago: a partition goes when all its rows are older
    cutoff := (date_trunc('day', now() AT TIME ZONE 'UTC') - make_interval(days => days))
              AT TIME ZONE 'UTC';
    FOR t IN SELECT * FROM llmopt.day_partitioned_tables() LOOP
        FOR p IN
            SELECT c.oid::regclass AS child, c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
            FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = t.parent
            ORDER BY c.relname
        LOOP
            CONTINUE WHEN p.bound = 'DEFAULT';
            upper_bound := substring(p.bound FROM 'TO \(''([^'']+)''\)')::timestamptz;
            CONTINUE WHEN upper_bound IS NULL OR upper_bound > cutoff;
            EXECUTE format('DROP TABLE %s', p.child);
            RETURN NEXT format('llmopt.%I', p.relname);
        END LOOP;
    END LOOP;
END
$$;
COMMENT ON FUNCTION llmopt.drop_partitions_older_than(integer) IS
  'Drops the day partitions whose whole range ends at or before midnight UTC `days` days ago; returns the partitions dropped. Rows in DEFAULT partitions are left alone';
