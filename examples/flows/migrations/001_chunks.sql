-- Chunk text kept beside the vector index, so answers can cite and show whole chunks.
CREATE TABLE chunks (
  id     TEXT PRIMARY KEY,
  source TEXT NOT NULL,
  chunk  INTEGER NOT NULL,
  text   TEXT NOT NULL
);
