import { MEDIA_COLUMNS, mediaFromRow, mediaQuery, type MediaFilter, type MediaRecord, type MediaRow, type MediaStore } from '../media.js';
import type { Prepare } from './outbox.js';

/** Media files in SQLite: the bytes in a BLOB column beside their metadata. */
export class SqliteMedia implements MediaStore {
  constructor(private readonly stmt: Prepare) {}

  async putMedia(r: MediaRecord, bytes: Buffer): Promise<void> {
    this.stmt(
      `INSERT INTO media (channel_id, id, mime_type, file_size, sha256, file_name, created_at, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (channel_id, id) DO UPDATE SET mime_type = excluded.mime_type, file_size = excluded.file_size,
         sha256 = excluded.sha256, file_name = excluded.file_name, created_at = excluded.created_at, bytes = excluded.bytes`,
    ).run(r.channelId, r.id, r.mimeType, r.fileSize, r.sha256, r.fileName, r.createdAt, bytes);
  }

  async getMedia(channelId: string, id: string): Promise<MediaRecord | null> {
    const row = this.stmt(`SELECT ${MEDIA_COLUMNS} FROM media WHERE channel_id = ? AND id = ?`).get(channelId, id) as MediaRow | undefined;
    return row ? mediaFromRow(row) : null;
  }

  async readMedia(channelId: string, id: string): Promise<Buffer | null> {
    const bytes = this.stmt('SELECT bytes FROM media WHERE channel_id = ? AND id = ?', true).get(channelId, id) as Buffer | undefined;
    return bytes ?? null;
  }

  async listMedia(channelId: string, filter: MediaFilter, page: { count: number; offset: number }): Promise<{ media: MediaRecord[]; total: number }> {
    const q = mediaQuery(channelId, filter, () => '?');
    const rows = this.stmt(`SELECT ${MEDIA_COLUMNS} FROM media ${q.where} ${q.order} LIMIT ? OFFSET ?`).all(...q.values, page.count, page.offset) as MediaRow[];
    const total = this.stmt(`SELECT count(*) FROM media ${q.where}`, true).get(...q.values) as number;
    return { media: rows.map(mediaFromRow), total };
  }

  async deleteMedia(channelId: string, id: string): Promise<boolean> {
    return this.stmt('DELETE FROM media WHERE channel_id = ? AND id = ?').run(channelId, id).changes > 0;
  }

  async pruneMedia(before: number, limit: number): Promise<number> {
    return this.stmt(
      'DELETE FROM media WHERE rowid IN (SELECT rowid FROM media WHERE created_at < ? ORDER BY created_at LIMIT ?)',
    ).run(before, limit).changes;
  }
}
