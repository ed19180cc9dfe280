-- A random identity for this database, made once. The search index records it with every commit:
-- an index directory that outlived its database, or was copied from another one, does not match
-- and is rebuilt instead of trusted. Idempotent.
CREATE TABLE IF NOT EXISTS rootcause_instance
(
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    instance_id uuid NOT NULL DEFAULT gen_random_uuid(),
    created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO rootcause_instance (singleton) VALUES (true) ON CONFLICT (singleton) DO NOTHING;
