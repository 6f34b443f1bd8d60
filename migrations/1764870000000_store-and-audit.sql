-- Millwright's first schema: the Store contract's records (every collection, leases included) and the
-- hash-chained audit trail with its one head row, which every append locks (FOR UPDATE).

-- Up Migration
CREATE TABLE millwright_records (
  collection text NOT NULL,
  id text NOT NULL,
  -- json, not jsonb: kept exactly as written (key order, and \u0000 in strings, which jsonb refuses).
  data json NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- Lists come back in the order records were first written, as the embedded store keeps them.
  position bigint GENERATED ALWAYS AS IDENTITY,
  PRIMARY KEY (collection, id)
);

CREATE TABLE millwright_audit (
  seq bigint PRIMARY KEY,
  ts timestamptz NOT NULL,
  actor text NOT NULL,
  channel text NOT NULL,
  -- The record as one JSON line, exactly what its hash covers (the same line the file trail holds).
  line text NOT NULL
);
CREATE INDEX millwright_audit_actor ON millwright_audit (actor, seq DESC);
CREATE INDEX millwright_audit_channel ON millwright_audit (channel, seq DESC);
CREATE INDEX millwright_audit_ts ON millwright_audit (ts);

-- The last seq and hash appended: the file trail's `.head`, and the row each append locks so that
-- replicas write one chain.
CREATE TABLE millwright_audit_head (
  id smallint PRIMARY KEY CHECK (id = 1),
  seq bigint NOT NULL,
  hash text NOT NULL
);
INSERT INTO millwright_audit_head (id, seq, hash) VALUES (1, 0, repeat('0', 64));

-- Down Migration
DROP TABLE millwright_audit_head;
DROP TABLE millwright_audit;
DROP TABLE millwright_records;
