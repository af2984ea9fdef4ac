-- What a document's file said about itself and what its extraction had to skip.
-- depends: 0003_vectors
--
-- `title` is the title the file names for itself (Markdown front matter, DOCX/PDF
-- properties); `warnings` are human-readable notes such as "3 images without text
-- skipped". Both are set when the document becomes ready.

ALTER TABLE documents ADD COLUMN title text;
ALTER TABLE documents ADD COLUMN warnings text[] NOT NULL DEFAULT '{}';
