/** A stored media file's metadata; its bytes are read separately (they may be large). */
export interface MediaRecord {
  id: string;
  channelId: string;
  mimeType: string;
  /** bytes */
  fileSize: number;
  /** hex */
  sha256: string;
  fileName: string | null;
  createdAt: number; // unix ms
}

export interface MediaFilter {
  /** createdAt >= timeFrom (unix ms) */
  timeFrom?: number;
  /** createdAt <= timeTo (unix ms) */
  timeTo?: number;
  /** Newest first unless `asc`. */
  sort?: 'asc' | 'desc';
}

/**
 * Media bytes and their metadata, per channel. SQLite and PostgreSQL keep the bytes in the
 * database, so every node of a PostgreSQL deployment reads the same files; an object store (S3
 * and the like) can implement the same five calls later, keeping only the metadata in SQL.
 */
export interface MediaStore {
  /** Stores a file; an id already stored for the channel is replaced. */
  putMedia(record: MediaRecord, bytes: Buffer): Promise<void>;
  getMedia(channelId: string, id: string): Promise<MediaRecord | null>;
  /** The file's bytes, or null when it is not stored (never was, deleted, pruned). */
  readMedia(channelId: string, id: string): Promise<Buffer | null>;
  listMedia(channelId: string, filter: MediaFilter, page: { count: number; offset: number }): Promise<{ media: MediaRecord[]; total: number }>;
  deleteMedia(channelId: string, id: string): Promise<boolean>;
  /** Deletes up to `limit` files created before `before` (unix ms), oldest first; answers how many. */
  pruneMedia(before: number, limit: number): Promise<number>;
}

/** The media columns, in `MediaRow` order. */
export const MEDIA_COLUMNS = 'id, channel_id, mime_type, file_size, sha256, file_name, created_at';

/** A `media` row as both dialects select it (the PostgreSQL pool parses bigint as a number). */
export interface MediaRow {
  id: string;
  channel_id: string;
  mime_type: string;
  file_size: number;
  sha256: string;
  file_name: string | null;
  created_at: number;
}

export function mediaFromRow(row: MediaRow): MediaRecord {
  return {
    id: row.id,
    channelId: row.channel_id,
    mimeType: row.mime_type,
    fileSize: row.file_size,
    sha256: row.sha256,
    fileName: row.file_name,
    createdAt: row.created_at,
  };
}

/** The WHERE and ORDER BY of a media listing; `param(n)` writes the dialect's n-th placeholder. */
export function mediaQuery(channelId: string, filter: MediaFilter, param: (n: number) => string): { where: string; order: string; values: Array<string | number> } {
  const values: Array<string | number> = [channelId];
  const clauses = [`channel_id = ${param(1)}`];
  if (filter.timeFrom !== undefined) {
    values.push(filter.timeFrom);
    clauses.push(`created_at >= ${param(values.length)}`);
  }
  if (filter.timeTo !== undefined) {
    values.push(filter.timeTo);
    clauses.push(`created_at <= ${param(values.length)}`);
  }
  const dir = filter.sort === 'asc' ? 'ASC' : 'DESC';
  return { where: `WHERE ${clauses.join(' AND ')}`, order: `ORDER BY created_at ${dir}, id ${dir}`, values };
}
