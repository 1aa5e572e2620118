-- Invitations: a one-time link that lets a user without a password set
-- one. Only the hash of the link's token is kept.

CREATE TABLE user_invites (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    PRIMARY KEY (org_id, id)
);
