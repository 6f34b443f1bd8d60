-- Retention for records that only matter for a while (Slack replay and event keys, once-only claims,
-- leases): a record carrying `retainUntil` (an ISO 8601 time) is deleted by the store's sweep after it.

-- Up Migration
ALTER TABLE millwright_records ADD COLUMN retain_until timestamptz;
CREATE INDEX millwright_records_retain_until ON millwright_records (retain_until)
  WHERE retain_until IS NOT NULL;

-- Set from the record itself on every write, whichever statement writes it (store, import). Only a
-- record that names the key is parsed: json's ->> refuses text it cannot unescape (a NUL character),
-- which other records may hold.
CREATE FUNCTION millwright_records_retention() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF strpos(NEW.data::text, '"retainUntil"') > 0 THEN
    NEW.retain_until := (NEW.data->>'retainUntil')::timestamptz;
  ELSE
    NEW.retain_until := NULL;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER millwright_records_retention BEFORE INSERT OR UPDATE OF data ON millwright_records
  FOR EACH ROW EXECUTE FUNCTION millwright_records_retention();
UPDATE millwright_records SET data = data WHERE data->>'retainUntil' IS NOT NULL;

-- Down Migration
DROP TRIGGER millwright_records_retention ON millwright_records;
DROP FUNCTION millwright_records_retention();
DROP INDEX millwright_records_retain_until;
ALTER TABLE millwright_records DROP COLUMN retain_until;
