-- Processing leases: a worker holds a `processing` document for a short, renewed time.
-- depends: 0004_document_notes
--
-- `lease_token` names the claim that holds the document (NULL: no worker holds it, it
-- waits for a retry or a re-driven message); every write of the holder names it in its
-- WHERE, so a worker whose lease was taken over changes nothing. `lease_expires_at` is
-- when the holder's lease lapses unless renewed, or, while nobody holds it, when the
-- reconciler re-drives it. `processing_started_at` is when the document last left
-- `queued` (kept across re-drives), for the age of the oldest processing document.
ALTER TABLE documents
    ADD COLUMN lease_token uuid,
    ADD COLUMN lease_expires_at timestamptz,
    ADD COLUMN processing_started_at timestamptz;
-- Documents processing at the upgrade were watched by their last progress: each is
-- held by a lease of its own for the old five-minute stall timeout, then re-driven
-- unless a worker still reports progress for it.
UPDATE documents
   SET lease_token = gen_random_uuid(),
       lease_expires_at = updated_at + interval '300 seconds',
       processing_started_at = updated_at
 WHERE status = 'processing';
-- The reconciler's scan for lapsed leases and the oldest-processing gauge.
CREATE INDEX documents_processing_lease_idx
    ON documents (lease_expires_at, id) WHERE status = 'processing';
