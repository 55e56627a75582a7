import type pg from 'pg';
import { MEDIA_COLUMNS, mediaFromRow, mediaQuery, type MediaFilter, type MediaRecord, type MediaRow, type MediaStore } from '../media.js';

/** Media files in PostgreSQL: the bytes in a bytea column, so every node reads the same files. */
export class PostgresMedia implements MediaStore {
  constructor(private readonly pool: pg.Pool) {}

  async putMedia(r: MediaRecord, bytes: Buffer): Promise<void> {
    await this.pool.query(
      `INSERT INTO media (channel_id, id, mime_type, file_size, sha256, file_name, created_at, bytes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (channel_id, id) DO UPDATE SET mime_type = EXCLUDED.mime_type, file_size = EXCLUDED.file_size,
         sha256 = EXCLUDED.sha256, file_name = EXCLUDED.file_name, created_at = EXCLUDED.created_at, bytes = EXCLUDED.bytes`,
      [r.channelId, r.id, r.mimeType, r.fileSize, r.sha256, r.fileName, r.createdAt, bytes],
    );
  }

  async getMedia(channelId: string, id: string): Promise<MediaRecord | null> {
    const { rows } = await this.pool.query<MediaRow>(`SELECT ${MEDIA_COLUMNS} FROM media WHERE channel_id = $1 AND id = $2`, [channelId, id]);
    return rows[0] ? mediaFromRow(rows[0]) : null;
  }

  async readMedia(channelId: string, id: string): Promise<Buffer | null> {
    const { rows } = await this.pool.query<{ bytes: Buffer }>('SELECT bytes FROM media WHERE channel_id = $1 AND id = $2', [channelId, id]);
    return rows[0]?.bytes ?? null;
  }

  async listMedia(channelId: string, filter: MediaFilter, page: { count: number; offset: number }): Promise<{ media: MediaRecord[]; total: number }> {
    const q = mediaQuery(channelId, filter, (n) => `$${n}`);
    const n = q.values.length;
    const [list, count] = await Promise.all([
      this.pool.query<MediaRow>(`SELECT ${MEDIA_COLUMNS} FROM media ${q.where} ${q.order} LIMIT $${n + 1} OFFSET $${n + 2}`, [...q.values, page.count, page.offset]),
      this.pool.query<{ total: number }>(`SELECT count(*) AS total FROM media ${q.where}`, q.values),
    ]);
    return { media: list.rows.map(mediaFromRow), total: count.rows[0]?.total ?? 0 };
  }

  async deleteMedia(channelId: string, id: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM media WHERE channel_id = $1 AND id = $2', [channelId, id])).rowCount ?? 0) > 0;
  }

  async pruneMedia(before: number, limit: number): Promise<number> {
    const res = await this.pool.query(
      'DELETE FROM media WHERE (channel_id, id) IN (SELECT channel_id, id FROM media WHERE created_at < $1 ORDER BY created_at LIMIT $2)',
      [before, limit],
    );
    return res.rowCount ?? 0;
  }
}
