namespace Omnichannel.Sdk.PostgreSql;

// The migrations' SQL, kept apart from the code that applies them (PostgreSqlSchema.cs): an append-only list, read
// version by version.
internal static partial class PostgreSqlSchema
{
    /// <summary>The migrations, in order; index i brings the schema to version i + 1. Append only, never edit a shipped one.</summary>
    /// <remarks>Ids are <c>COLLATE "C"</c> so that ORDER BY is by code point (UTF-8 bytes), as every store answers; instants are UTC ticks (exact, like the SQLite store).</remarks>
    public static readonly IReadOnlyList<string> Migrations =
    [
        """
        CREATE TABLE profiles (
            id text COLLATE "C" NOT NULL PRIMARY KEY,
            version bigint NOT NULL,
            document bytea NOT NULL,
            wake_at bigint);
        CREATE INDEX profiles_by_wake_at ON profiles (wake_at, id) WHERE wake_at IS NOT NULL;
        CREATE TABLE identifiers (
            type text COLLATE "C" NOT NULL,
            value text COLLATE "C" NOT NULL,
            profile_id text COLLATE "C" NOT NULL,
            PRIMARY KEY (type, value));
        CREATE INDEX identifiers_by_profile ON identifiers (profile_id);
        CREATE TABLE aliases (
            old_id text COLLATE "C" NOT NULL PRIMARY KEY,
            new_id text COLLATE "C" NOT NULL);
        CREATE INDEX aliases_by_new_id ON aliases (new_id);
        CREATE TABLE processed_events (
            event_id text COLLATE "C" NOT NULL PRIMARY KEY,
            processed_at bigint NOT NULL);
        CREATE INDEX processed_events_by_time ON processed_events (processed_at);
        CREATE TABLE suppression (
            hash text COLLATE "C" NOT NULL PRIMARY KEY);
        CREATE TABLE segment_members (
            segment_id text COLLATE "C" NOT NULL,
            profile_id text COLLATE "C" NOT NULL,
            PRIMARY KEY (segment_id, profile_id));
        CREATE INDEX segment_members_by_profile ON segment_members (profile_id);
        CREATE TABLE outbox (
            message_key text COLLATE "C" NOT NULL PRIMARY KEY,
            profile_id text COLLATE "C" NOT NULL,
            due_at bigint NOT NULL,
            payload bytea NOT NULL,
            attempt integer NOT NULL,
            leased_until bigint);
        CREATE INDEX outbox_by_due ON outbox (due_at, message_key);
        CREATE INDEX outbox_by_profile ON outbox (profile_id);
        -- Outlives the outbox rows: a message key is accepted once, ever.
        CREATE TABLE outbox_keys (
            message_key text COLLATE "C" NOT NULL PRIMARY KEY,
            created_at bigint NOT NULL);
        """,
        """
        -- Keyed hashes of erased identifiers and event ids (never values): events carrying them are refused.
        CREATE TABLE tombstones (
            hash text COLLATE "C" NOT NULL PRIMARY KEY,
            erased_at bigint NOT NULL,
            allows_return boolean NOT NULL);
        """,
        """
        -- The whole commit in one round trip: every expectation is checked by the write that depends on it (as the
        -- client-side commit of versions 1 and 2 did), and a failed one aborts the statement, so nothing is written.
        -- SQLSTATE OCDUP: the event id was already processed; OCCNF: a concurrent writer got there first.
        CREATE FUNCTION omnichannel_commit(
            p_event_id text, p_processed_at bigint,
            p_profile_id text, p_expected_version bigint, p_document bytea, p_wake_at bigint,
            p_absorbed_ids text[], p_absorbed_versions bigint[],
            p_claim_types text[], p_claim_values text[], p_claim_owners text[],
            p_segments text[],
            p_outbox_keys text[], p_outbox_profiles text[], p_outbox_due bigint[], p_outbox_payloads bytea[], p_now bigint)
        RETURNS bigint LANGUAGE plpgsql AS $fn$
        DECLARE
            n integer;
            held text;
        BEGIN
            IF p_event_id IS NOT NULL THEN
                INSERT INTO processed_events (event_id, processed_at) VALUES (p_event_id, p_processed_at) ON CONFLICT DO NOTHING;
                GET DIAGNOSTICS n = ROW_COUNT;
                IF n = 0 THEN RAISE EXCEPTION 'event already processed' USING ERRCODE = 'OCDUP'; END IF;
            END IF;

            IF p_expected_version = 0 THEN
                INSERT INTO profiles (id, version, document, wake_at)
                SELECT p_profile_id, 1, p_document, p_wake_at WHERE NOT EXISTS (SELECT 1 FROM aliases WHERE old_id = p_profile_id)
                ON CONFLICT DO NOTHING;
            ELSE
                UPDATE profiles SET version = version + 1, document = p_document, wake_at = p_wake_at
                WHERE id = p_profile_id AND version = p_expected_version;
            END IF;
            GET DIAGNOSTICS n = ROW_COUNT;
            IF n <> 1 THEN RAISE EXCEPTION 'profile changed' USING ERRCODE = 'OCCNF'; END IF;

            FOR i IN 1 .. cardinality(p_absorbed_ids) LOOP
                DELETE FROM profiles WHERE id = p_absorbed_ids[i] AND version = p_absorbed_versions[i];
                GET DIAGNOSTICS n = ROW_COUNT;
                IF n <> 1 THEN RAISE EXCEPTION 'absorbed profile changed' USING ERRCODE = 'OCCNF'; END IF;
            END LOOP;

            FOR i IN 1 .. cardinality(p_claim_types) LOOP
                -- The owner is locked while it is compared, so no other writer can move the identifier in between.
                SELECT profile_id INTO held FROM identifiers WHERE type = p_claim_types[i] AND value = p_claim_values[i] FOR UPDATE;
                IF held IS DISTINCT FROM p_claim_owners[i] THEN RAISE EXCEPTION 'identifier moved' USING ERRCODE = 'OCCNF'; END IF;
                IF held IS NULL THEN
                    INSERT INTO identifiers (type, value, profile_id) VALUES (p_claim_types[i], p_claim_values[i], p_profile_id) ON CONFLICT DO NOTHING;
                ELSE
                    UPDATE identifiers SET profile_id = p_profile_id WHERE type = p_claim_types[i] AND value = p_claim_values[i];
                END IF;
                GET DIAGNOSTICS n = ROW_COUNT;
                IF n <> 1 THEN RAISE EXCEPTION 'identifier claimed' USING ERRCODE = 'OCCNF'; END IF;
            END LOOP;

            IF cardinality(p_absorbed_ids) > 0 THEN
                DELETE FROM segment_members WHERE profile_id = ANY (p_absorbed_ids);
                INSERT INTO aliases (old_id, new_id) SELECT unnest(p_absorbed_ids), p_profile_id
                ON CONFLICT (old_id) DO UPDATE SET new_id = excluded.new_id;
                UPDATE outbox SET profile_id = p_profile_id WHERE profile_id = ANY (p_absorbed_ids);
            END IF;

            DELETE FROM segment_members WHERE profile_id = p_profile_id AND NOT (segment_id = ANY (p_segments));
            INSERT INTO segment_members (segment_id, profile_id) SELECT DISTINCT unnest(p_segments), p_profile_id ON CONFLICT DO NOTHING;

            IF cardinality(p_outbox_keys) > 0 THEN
                -- A key is accepted once, ever: only keys new to outbox_keys become rows.
                WITH fresh AS (
                    INSERT INTO outbox_keys (message_key, created_at) SELECT unnest(p_outbox_keys), p_now
                    ON CONFLICT DO NOTHING RETURNING message_key)
                INSERT INTO outbox (message_key, profile_id, due_at, payload, attempt, leased_until)
                SELECT e.message_key, e.profile_id, e.due_at, e.payload, 0, NULL
                FROM unnest(p_outbox_keys, p_outbox_profiles, p_outbox_due, p_outbox_payloads) AS e (message_key, profile_id, due_at, payload)
                JOIN fresh USING (message_key);
            END IF;

            RETURN p_expected_version + 1;
        END
        $fn$;
        """,
        """
        -- Measurement aggregates, changed in the same statement as the profile commit that caused them. Keyed by journey
        -- and metric first: a journey's or a metric's rows are one range. day: days since 0001-01-01 (UTC).
        CREATE TABLE measurements (
            journey_id text COLLATE "C" NOT NULL,
            metric text COLLATE "C" NOT NULL,
            day integer NOT NULL,
            step_id text COLLATE "C" NOT NULL,
            variant text COLLATE "C" NOT NULL,
            channel text COLLATE "C" NOT NULL,
            template_id text COLLATE "C" NOT NULL,
            n bigint NOT NULL,
            amount double precision NOT NULL,
            PRIMARY KEY (journey_id, metric, day, step_id, variant, channel, template_id));
        CREATE INDEX measurements_by_metric ON measurements (metric, day);
        """,
        """
        -- Sharded counters: every order of a day adds to the same conversion rows, and a row lock is held until the
        -- transaction ends, so concurrent commits queued on them. A commit now adds to the shard of its profile
        -- (0-15); readers sum the shards.
        ALTER TABLE measurements ADD COLUMN shard smallint NOT NULL DEFAULT 0;
        ALTER TABLE measurements DROP CONSTRAINT measurements_pkey;
        ALTER TABLE measurements ADD PRIMARY KEY (journey_id, metric, day, step_id, variant, channel, template_id, shard);
        """,
        """
        -- Group commit: several commits ride in one transaction (one round trip, one WAL flush), each in its own
        -- subtransaction, so a commit whose expectation fails is undone alone and the others stand. Returns the new
        -- version, 0 when the event was already processed, -1 when a concurrent writer got there first (the SQLSTATEs
        -- that make omnichannel_commit's caller report a conflict).
        CREATE FUNCTION omnichannel_try_commit(
            p_event_id text, p_processed_at bigint,
            p_profile_id text, p_expected_version bigint, p_document bytea, p_wake_at bigint,
            p_absorbed_ids text[], p_absorbed_versions bigint[],
            p_claim_types text[], p_claim_values text[], p_claim_owners text[],
            p_segments text[],
            p_outbox_keys text[], p_outbox_profiles text[], p_outbox_due bigint[], p_outbox_payloads bytea[], p_now bigint)
        RETURNS bigint LANGUAGE plpgsql AS $fn$
        BEGIN
            RETURN omnichannel_commit(
                p_event_id, p_processed_at, p_profile_id, p_expected_version, p_document, p_wake_at,
                p_absorbed_ids, p_absorbed_versions, p_claim_types, p_claim_values, p_claim_owners, p_segments,
                p_outbox_keys, p_outbox_profiles, p_outbox_due, p_outbox_payloads, p_now);
        EXCEPTION
            WHEN SQLSTATE 'OCDUP' THEN RETURN 0;
            WHEN SQLSTATE 'OCCNF' OR serialization_failure OR deadlock_detected OR unique_violation THEN RETURN -1;
        END
        $fn$;

        -- Profile documents (a few KB of JSON) are compressed on every commit: lz4 costs a fraction of pglz's time.
        -- Servers built without lz4 (or before PostgreSQL 14) keep pglz.
        DO $do$
        BEGIN
            IF current_setting('server_version_num')::integer >= 140000 THEN
                EXECUTE 'ALTER TABLE profiles ALTER COLUMN document SET COMPRESSION lz4';
            END IF;
        EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
            NULL;
        END
        $do$;
        """,
        """
        -- Runs: one commit applies several events of one profile (written once). The further event ids are remembered
        -- with the commit; any one already processed refuses all of it (OCDUP), like the first.
        CREATE FUNCTION omnichannel_commit_events(
            p_further text[],
            p_event_id text, p_processed_at bigint,
            p_profile_id text, p_expected_version bigint, p_document bytea, p_wake_at bigint,
            p_absorbed_ids text[], p_absorbed_versions bigint[],
            p_claim_types text[], p_claim_values text[], p_claim_owners text[],
            p_segments text[],
            p_outbox_keys text[], p_outbox_profiles text[], p_outbox_due bigint[], p_outbox_payloads bytea[], p_now bigint)
        RETURNS bigint LANGUAGE plpgsql AS $fn$
        DECLARE
            n integer;
        BEGIN
            INSERT INTO processed_events (event_id, processed_at) SELECT DISTINCT unnest(p_further), p_processed_at ON CONFLICT DO NOTHING;
            GET DIAGNOSTICS n = ROW_COUNT;
            IF n <> cardinality(p_further) THEN RAISE EXCEPTION 'event already processed' USING ERRCODE = 'OCDUP'; END IF;
            RETURN omnichannel_commit(
                p_event_id, p_processed_at, p_profile_id, p_expected_version, p_document, p_wake_at,
                p_absorbed_ids, p_absorbed_versions, p_claim_types, p_claim_values, p_claim_owners, p_segments,
                p_outbox_keys, p_outbox_profiles, p_outbox_due, p_outbox_payloads, p_now);
        END
        $fn$;

        CREATE FUNCTION omnichannel_try_commit_events(
            p_further text[],
            p_event_id text, p_processed_at bigint,
            p_profile_id text, p_expected_version bigint, p_document bytea, p_wake_at bigint,
            p_absorbed_ids text[], p_absorbed_versions bigint[],
            p_claim_types text[], p_claim_values text[], p_claim_owners text[],
            p_segments text[],
            p_outbox_keys text[], p_outbox_profiles text[], p_outbox_due bigint[], p_outbox_payloads bytea[], p_now bigint)
        RETURNS bigint LANGUAGE plpgsql AS $fn$
        BEGIN
            RETURN omnichannel_commit_events(
                p_further, p_event_id, p_processed_at, p_profile_id, p_expected_version, p_document, p_wake_at,
                p_absorbed_ids, p_absorbed_versions, p_claim_types, p_claim_values, p_claim_owners, p_segments,
                p_outbox_keys, p_outbox_profiles, p_outbox_due, p_outbox_payloads, p_now);
        EXCEPTION
            WHEN SQLSTATE 'OCDUP' THEN RETURN 0;
            WHEN SQLSTATE 'OCCNF' OR serialization_failure OR deadlock_detected OR unique_violation THEN RETURN -1;
        END
        $fn$;
        """,
        """
        -- A message key accepted before (another person's message, or one long ago) refuses the commit (SQLSTATE OCKEY;
        -- in a group -2) instead of being dropped while the caller is told it was queued.
        CREATE OR REPLACE FUNCTION omnichannel_commit(
            p_event_id text, p_processed_at bigint,
            p_profile_id text, p_expected_version bigint, p_document bytea, p_wake_at bigint,
            p_absorbed_ids text[], p_absorbed_versions bigint[],
            p_claim_types text[], p_claim_values text[], p_claim_owners text[],
            p_segments text[],
            p_outbox_keys text[], p_outbox_profiles text[], p_outbox_due bigint[], p_outbox_payloads bytea[], p_now bigint)
        RETURNS bigint LANGUAGE plpgsql AS $fn$
        DECLARE
            n integer;
            held text;
        BEGIN
            IF p_event_id IS NOT NULL THEN
                INSERT INTO processed_events (event_id, processed_at) VALUES (p_event_id, p_processed_at) ON CONFLICT DO NOTHING;
                GET DIAGNOSTICS n = ROW_COUNT;
                IF n = 0 THEN RAISE EXCEPTION 'event already processed' USING ERRCODE = 'OCDUP'; END IF;
            END IF;

            IF p_expected_version = 0 THEN
                INSERT INTO profiles (id, version, document, wake_at)
                SELECT p_profile_id, 1, p_document, p_wake_at WHERE NOT EXISTS (SELECT 1 FROM aliases WHERE old_id = p_profile_id)
                ON CONFLICT DO NOTHING;
            ELSE
                UPDATE profiles SET version = version + 1, document = p_document, wake_at = p_wake_at
                WHERE id = p_profile_id AND version = p_expected_version;
            END IF;
            GET DIAGNOSTICS n = ROW_COUNT;
            IF n <> 1 THEN RAISE EXCEPTION 'profile changed' USING ERRCODE = 'OCCNF'; END IF;

            FOR i IN 1 .. cardinality(p_absorbed_ids) LOOP
                DELETE FROM profiles WHERE id = p_absorbed_ids[i] AND version = p_absorbed_versions[i];
                GET DIAGNOSTICS n = ROW_COUNT;
                IF n <> 1 THEN RAISE EXCEPTION 'absorbed profile changed' USING ERRCODE = 'OCCNF'; END IF;
            END LOOP;

            FOR i IN 1 .. cardinality(p_claim_types) LOOP
                -- The owner is locked while it is compared, so no other writer can move the identifier in between.
                SELECT profile_id INTO held FROM identifiers WHERE type = p_claim_types[i] AND value = p_claim_values[i] FOR UPDATE;
                IF held IS DISTINCT FROM p_claim_owners[i] THEN RAISE EXCEPTION 'identifier moved' USING ERRCODE = 'OCCNF'; END IF;
                IF held IS NULL THEN
                    INSERT INTO identifiers (type, value, profile_id) VALUES (p_claim_types[i], p_claim_values[i], p_profile_id) ON CONFLICT DO NOTHING;
                ELSE
                    UPDATE identifiers SET profile_id = p_profile_id WHERE type = p_claim_types[i] AND value = p_claim_values[i];
                END IF;
                GET DIAGNOSTICS n = ROW_COUNT;
                IF n <> 1 THEN RAISE EXCEPTION 'identifier claimed' USING ERRCODE = 'OCCNF'; END IF;
            END LOOP;

            IF cardinality(p_absorbed_ids) > 0 THEN
                DELETE FROM segment_members WHERE profile_id = ANY (p_absorbed_ids);
                INSERT INTO aliases (old_id, new_id) SELECT unnest(p_absorbed_ids), p_profile_id
                ON CONFLICT (old_id) DO UPDATE SET new_id = excluded.new_id;
                UPDATE outbox SET profile_id = p_profile_id WHERE profile_id = ANY (p_absorbed_ids);
            END IF;

            DELETE FROM segment_members WHERE profile_id = p_profile_id AND NOT (segment_id = ANY (p_segments));
            INSERT INTO segment_members (segment_id, profile_id) SELECT DISTINCT unnest(p_segments), p_profile_id ON CONFLICT DO NOTHING;

            IF cardinality(p_outbox_keys) > 0 THEN
                -- A key is accepted once, ever: a key accepted before refuses the commit (OCKEY), never a silent drop.
                INSERT INTO outbox_keys (message_key, created_at) SELECT DISTINCT unnest(p_outbox_keys), p_now ON CONFLICT DO NOTHING;
                GET DIAGNOSTICS n = ROW_COUNT;
                IF n <> (SELECT count(DISTINCT k) FROM unnest(p_outbox_keys) AS k) THEN
                    RAISE EXCEPTION 'message key already accepted' USING ERRCODE = 'OCKEY';
                END IF;
                INSERT INTO outbox (message_key, profile_id, due_at, payload, attempt, leased_until)
                SELECT e.message_key, e.profile_id, e.due_at, e.payload, 0, NULL
                FROM unnest(p_outbox_keys, p_outbox_profiles, p_outbox_due, p_outbox_payloads) AS e (message_key, profile_id, due_at, payload);
            END IF;

            RETURN p_expected_version + 1;
        END
        $fn$;

        CREATE OR REPLACE FUNCTION omnichannel_try_commit(
            p_event_id text, p_processed_at bigint,
            p_profile_id text, p_expected_version bigint, p_document bytea, p_wake_at bigint,
            p_absorbed_ids text[], p_absorbed_versions bigint[],
            p_claim_types text[], p_claim_values text[], p_claim_owners text[],
            p_segments text[],
            p_outbox_keys text[], p_outbox_profiles text[], p_outbox_due bigint[], p_outbox_payloads bytea[], p_now bigint)
        RETURNS bigint LANGUAGE plpgsql AS $fn$
        BEGIN
            RETURN omnichannel_commit(
                p_event_id, p_processed_at, p_profile_id, p_expected_version, p_document, p_wake_at,
                p_absorbed_ids, p_absorbed_versions, p_claim_types, p_claim_values, p_claim_owners, p_segments,
                p_outbox_keys, p_outbox_profiles, p_outbox_due, p_outbox_payloads, p_now);
        EXCEPTION
            WHEN SQLSTATE 'OCDUP' THEN RETURN 0;
            WHEN SQLSTATE 'OCKEY' THEN RETURN -2;
            WHEN SQLSTATE 'OCCNF' OR serialization_failure OR deadlock_detected OR unique_violation THEN RETURN -1;
        END
        $fn$;

        CREATE OR REPLACE FUNCTION omnichannel_try_commit_events(
            p_further text[],
            p_event_id text, p_processed_at bigint,
            p_profile_id text, p_expected_version bigint, p_document bytea, p_wake_at bigint,
            p_absorbed_ids text[], p_absorbed_versions bigint[],
            p_claim_types text[], p_claim_values text[], p_claim_owners text[],
            p_segments text[],
            p_outbox_keys text[], p_outbox_profiles text[], p_outbox_due bigint[], p_outbox_payloads bytea[], p_now bigint)
        RETURNS bigint LANGUAGE plpgsql AS $fn$
        BEGIN
            RETURN omnichannel_commit_events(
                p_further, p_event_id, p_processed_at, p_profile_id, p_expected_version, p_document, p_wake_at,
                p_absorbed_ids, p_absorbed_versions, p_claim_types, p_claim_values, p_claim_owners, p_segments,
                p_outbox_keys, p_outbox_profiles, p_outbox_due, p_outbox_payloads, p_now);
        EXCEPTION
            WHEN SQLSTATE 'OCDUP' THEN RETURN 0;
            WHEN SQLSTATE 'OCKEY' THEN RETURN -2;
            WHEN SQLSTATE 'OCCNF' OR serialization_failure OR deadlock_detected OR unique_violation THEN RETURN -1;
        END
        $fn$;
        """,
        """
        -- Audit U67: a statement that adds outbox rows tells every process listening on this database (payload: the
        -- schema), so that a worker sends a message a process without transports planned at once, not at its next look.
        -- Once per statement, and NOTIFY folds repeats within a transaction; only commits that plan messages pay for it.
        CREATE FUNCTION omnichannel_outbox_signal() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
            IF EXISTS (SELECT 1 FROM fresh) THEN PERFORM pg_notify('omnichannel_work', TG_TABLE_SCHEMA); END IF;
            RETURN NULL;
        END
        $fn$;
        CREATE TRIGGER outbox_signal AFTER INSERT ON outbox REFERENCING NEW TABLE AS fresh
            FOR EACH STATEMENT EXECUTE FUNCTION omnichannel_outbox_signal();
        """,
        """
        -- The channel a message is first tried on: a process claims only its own channels' rows (NULL: anyone's). Set
        -- after the commit that wrote the rows, in its statement: p_version is that commit's answer (a version above 0
        -- once its rows are written; 0, -1 or -2 in a group when it wrote nothing), passed through unchanged.
        ALTER TABLE outbox ADD COLUMN channel text;
        CREATE FUNCTION omnichannel_outbox_channels(p_version bigint, p_keys text[], p_channels text[])
        RETURNS bigint LANGUAGE plpgsql AS $fn$
        BEGIN
            IF p_version > 0 AND cardinality(p_keys) > 0 THEN
                UPDATE outbox SET channel = c.channel
                FROM unnest(p_keys, p_channels) AS c (message_key, channel)
                WHERE outbox.message_key = c.message_key AND c.channel IS NOT NULL;
            END IF;
            RETURN p_version;
        END
        $fn$;
        """,
        """
        -- Audit U102: the profile each message key was accepted for, so that her erasure forgets every key of hers (found
        -- through her alias chain), not only those her document names (500 at most). NULL for keys accepted before this
        -- version (their profile was not kept). The commit writes it in the statement that remembers the key.
        ALTER TABLE outbox_keys ADD COLUMN profile_id text COLLATE "C";
        CREATE INDEX outbox_keys_by_profile ON outbox_keys (profile_id) WHERE profile_id IS NOT NULL;

        CREATE OR REPLACE FUNCTION omnichannel_commit(
            p_event_id text, p_processed_at bigint,
            p_profile_id text, p_expected_version bigint, p_document bytea, p_wake_at bigint,
            p_absorbed_ids text[], p_absorbed_versions bigint[],
            p_claim_types text[], p_claim_values text[], p_claim_owners text[],
            p_segments text[],
            p_outbox_keys text[], p_outbox_profiles text[], p_outbox_due bigint[], p_outbox_payloads bytea[], p_now bigint)
        RETURNS bigint LANGUAGE plpgsql AS $fn$
        DECLARE
            n integer;
            held text;
        BEGIN
            IF p_event_id IS NOT NULL THEN
                INSERT INTO processed_events (event_id, processed_at) VALUES (p_event_id, p_processed_at) ON CONFLICT DO NOTHING;
                GET DIAGNOSTICS n = ROW_COUNT;
                IF n = 0 THEN RAISE EXCEPTION 'event already processed' USING ERRCODE = 'OCDUP'; END IF;
            END IF;

            IF p_expected_version = 0 THEN
                INSERT INTO profiles (id, version, document, wake_at)
                SELECT p_profile_id, 1, p_document, p_wake_at WHERE NOT EXISTS (SELECT 1 FROM aliases WHERE old_id = p_profile_id)
                ON CONFLICT DO NOTHING;
            ELSE
                UPDATE profiles SET version = version + 1, document = p_document, wake_at = p_wake_at
                WHERE id = p_profile_id AND version = p_expected_version;
            END IF;
            GET DIAGNOSTICS n = ROW_COUNT;
            IF n <> 1 THEN RAISE EXCEPTION 'profile changed' USING ERRCODE = 'OCCNF'; END IF;

            FOR i IN 1 .. cardinality(p_absorbed_ids) LOOP
                DELETE FROM profiles WHERE id = p_absorbed_ids[i] AND version = p_absorbed_versions[i];
                GET DIAGNOSTICS n = ROW_COUNT;
                IF n <> 1 THEN RAISE EXCEPTION 'absorbed profile changed' USING ERRCODE = 'OCCNF'; END IF;
            END LOOP;

            FOR i IN 1 .. cardinality(p_claim_types) LOOP
                -- The owner is locked while it is compared, so no other writer can move the identifier in between.
                SELECT profile_id INTO held FROM identifiers WHERE type = p_claim_types[i] AND value = p_claim_values[i] FOR UPDATE;
                IF held IS DISTINCT FROM p_claim_owners[i] THEN RAISE EXCEPTION 'identifier moved' USING ERRCODE = 'OCCNF'; END IF;
                IF held IS NULL THEN
                    INSERT INTO identifiers (type, value, profile_id) VALUES (p_claim_types[i], p_claim_values[i], p_profile_id) ON CONFLICT DO NOTHING;
                ELSE
                    UPDATE identifiers SET profile_id = p_profile_id WHERE type = p_claim_types[i] AND value = p_claim_values[i];
                END IF;
                GET DIAGNOSTICS n = ROW_COUNT;
                IF n <> 1 THEN RAISE EXCEPTION 'identifier claimed' USING ERRCODE = 'OCCNF'; END IF;
            END LOOP;

            IF cardinality(p_absorbed_ids) > 0 THEN
                DELETE FROM segment_members WHERE profile_id = ANY (p_absorbed_ids);
                INSERT INTO aliases (old_id, new_id) SELECT unnest(p_absorbed_ids), p_profile_id
                ON CONFLICT (old_id) DO UPDATE SET new_id = excluded.new_id;
                UPDATE outbox SET profile_id = p_profile_id WHERE profile_id = ANY (p_absorbed_ids);
            END IF;

            DELETE FROM segment_members WHERE profile_id = p_profile_id AND NOT (segment_id = ANY (p_segments));
            INSERT INTO segment_members (segment_id, profile_id) SELECT DISTINCT unnest(p_segments), p_profile_id ON CONFLICT DO NOTHING;

            IF cardinality(p_outbox_keys) > 0 THEN
                -- A key is accepted once, ever: a key accepted before refuses the commit (OCKEY), never a silent drop.
                -- Audit U102: with the profile each key is accepted for (the first entry's, should one commit name a key twice).
                INSERT INTO outbox_keys (message_key, created_at, profile_id)
                SELECT DISTINCT ON (e.message_key) e.message_key, p_now, e.profile_id
                FROM unnest(p_outbox_keys, p_outbox_profiles) WITH ORDINALITY AS e (message_key, profile_id, i)
                ORDER BY e.message_key, e.i
                ON CONFLICT DO NOTHING;
                GET DIAGNOSTICS n = ROW_COUNT;
                IF n <> (SELECT count(DISTINCT k) FROM unnest(p_outbox_keys) AS k) THEN
                    RAISE EXCEPTION 'message key already accepted' USING ERRCODE = 'OCKEY';
                END IF;
                INSERT INTO outbox (message_key, profile_id, due_at, payload, attempt, leased_until)
                SELECT e.message_key, e.profile_id, e.due_at, e.payload, 0, NULL
                FROM unnest(p_outbox_keys, p_outbox_profiles, p_outbox_due, p_outbox_payloads) AS e (message_key, profile_id, due_at, payload);
            END IF;

            RETURN p_expected_version + 1;
        END
        $fn$;
        """,
    ];
}
