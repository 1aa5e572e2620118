-- Cloud connectors: provider settings, sealed credentials (AES-GCM), the AWS
-- external ID, and the outcome of the last sync shown on the list.
ALTER TABLE billing_connectors ADD COLUMN config TEXT NOT NULL DEFAULT '{}';

--bun:split

ALTER TABLE billing_connectors ADD COLUMN secret BLOB;

--bun:split

ALTER TABLE billing_connectors ADD COLUMN external_id TEXT NOT NULL DEFAULT '';

--bun:split

ALTER TABLE billing_connectors ADD COLUMN enabled BOOLEAN NOT NULL DEFAULT TRUE;

--bun:split

ALTER TABLE billing_connectors ADD COLUMN last_rows BIGINT NOT NULL DEFAULT 0;

--bun:split

ALTER TABLE billing_connectors ADD COLUMN last_period TEXT;
