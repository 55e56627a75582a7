import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../channel/clock.js';
import { ApiError, MEDIA_ID_PATTERN, errors, type MediaFile } from '@wagate/protocol';
import type { MediaFilter, MediaRecord } from '../store/media.js';
import type { Store } from '../store/types.js';
import { MediaFetchError, type MediaFetcher } from './fetch.js';
import { extensionOf, mimeFromName } from './mime.js';

export interface MediaServiceDeps {
  store: Store;
  clock: Clock;
  fetcher: MediaFetcher;
  maxBytes: number;
  retentionDays: number;
  /** The gate API's base URL, for `link`. */
  apiUrl(): string;
}

/** A file on its way into the store. */
export interface IncomingFile {
  bytes: Buffer;
  mimeType?: string | null;
  fileName?: string | null;
}

/** Where a send's `media` field says the file is: already read from a form, or a string. */
export interface MediaSource {
  value: string;
  formFile?: IncomingFile;
  /** The request's `mime_type`, which wins over what the source says. */
  mimeType?: string;
  fileName?: string;
  /** The MIME type when nothing else tells (the route's media kind). */
  fallbackMime: string;
}

const MEDIA_ID = new RegExp(MEDIA_ID_PATTERN);
const DATA_URL = /^data:([\w.+-]+\/[\w.+-]+)?((?:;[\w-]+=[^;,]*)*)(;base64)?,/;
const PRUNE_BATCH = 500;

/** Uploads, downloads, the files of sent and received media, and their retention (SPEC §6, §12). */
export class MediaService {
  constructor(private readonly deps: MediaServiceDeps) {}

  /** Stores a file for the channel under a new id; 413 over WAGATE_MEDIA_MAX_BYTES, 400 when empty. */
  save(channelId: string, file: IncomingFile, fallbackMime = 'application/octet-stream'): Promise<MediaRecord> {
    const mimeType = file.mimeType || mimeFromName(file.fileName) || fallbackMime;
    return this.saveAs(channelId, `${extensionOf(mimeType)}-${randomBytes(16).toString('hex')}`, { ...file, mimeType });
  }

  /** Stores a file under `id` (replacing one stored there). */
  async saveAs(channelId: string, id: string, file: IncomingFile): Promise<MediaRecord> {
    if (file.bytes.length === 0) throw errors.badRequest('media: the file is empty');
    if (file.bytes.length > this.deps.maxBytes) throw tooLarge(this.deps.maxBytes);
    const mimeType = file.mimeType || mimeFromName(file.fileName) || 'application/octet-stream';
    const record: MediaRecord = {
      id,
      channelId,
      mimeType,
      fileSize: file.bytes.length,
      sha256: createHash('sha256').update(file.bytes).digest('hex'),
      fileName: file.fileName ?? null,
      createdAt: this.deps.clock.now(),
    };
    await this.deps.store.media.putMedia(record, file.bytes);
    return record;
  }

  /**
   * The file a send names: a form's file part, a `data:` URL, an http(s) URL (fetched through
   * the SSRF guard), or the id of a stored file. New files are stored, so the sent message's
   * media object links to a copy on this gateway.
   */
  async resolve(channelId: string, src: MediaSource): Promise<{ record: MediaRecord; bytes: Buffer }> {
    const hint = { mimeType: src.mimeType ?? null, fileName: src.fileName ?? null };
    const save = async (file: IncomingFile) => {
      const record = await this.save(channelId, { bytes: file.bytes, mimeType: hint.mimeType ?? file.mimeType, fileName: hint.fileName ?? file.fileName }, src.fallbackMime);
      return { record, bytes: file.bytes };
    };
    const value = src.value;
    if (src.formFile && value.startsWith('form-file:')) return save(src.formFile);
    if (value.startsWith('data:')) return save(decodeDataUrl(value, this.deps.maxBytes));
    if (/^https?:\/\//i.test(value)) {
      try {
        return await save(await this.deps.fetcher.fetch(value));
      } catch (err) {
        if (err instanceof MediaFetchError) throw errors.badRequest(`media: ${err.message}`);
        throw err;
      }
    }
    if (MEDIA_ID.test(value)) {
      const found = await this.stored(channelId, value);
      if (!found) throw errors.notFound(`media ${value} does not exist (uploaded files are kept ${this.deps.retentionDays} days)`);
      return found;
    }
    throw errors.badRequest('media: use an http(s) URL, a data: URL with base64 content, the id of an uploaded file, or a multipart file part');
  }

  /** A stored file as Whapi's `MediaFile`, with `link` to `GET /media/{MediaID}` on this gateway. */
  view(record: MediaRecord): MediaFile {
    const seconds = Math.floor(record.createdAt / 1000);
    const file: MediaFile = {
      id: record.id,
      link: `${this.deps.apiUrl().replace(/\/+$/, '')}/media/${record.id}`,
      mime_type: record.mimeType,
      file_size: record.fileSize,
      sha256: record.sha256,
      time: seconds,
      timestamp: seconds,
    };
    if (record.fileName) file.file_name = record.fileName;
    return file;
  }

  list(channelId: string, filter: MediaFilter, page: { count: number; offset: number }): Promise<{ media: MediaRecord[]; total: number }> {
    return this.deps.store.media.listMedia(channelId, filter, page);
  }

  /** A stored file and its bytes; 404 when absent. */
  async download(channelId: string, id: string): Promise<{ record: MediaRecord; bytes: Buffer }> {
    const found = await this.stored(channelId, id);
    if (!found) throw errors.notFound(`media ${id} does not exist`);
    return found;
  }

  /** A stored file and its bytes (its row and its bytes read at once), or null when either is gone. */
  private async stored(channelId: string, id: string): Promise<{ record: MediaRecord; bytes: Buffer } | null> {
    const [record, bytes] = await Promise.all([this.deps.store.media.getMedia(channelId, id), this.deps.store.media.readMedia(channelId, id)]);
    return record && bytes ? { record, bytes } : null;
  }

  async delete(channelId: string, id: string): Promise<void> {
    if (!(await this.deps.store.media.deleteMedia(channelId, id))) throw errors.notFound(`media ${id} does not exist`);
  }

  /** Deletes files older than the retention window, in batches; answers how many. */
  async prune(): Promise<number> {
    const before = this.deps.clock.now() - this.deps.retentionDays * 86_400_000;
    let total = 0;
    for (;;) {
      const n = await this.deps.store.media.pruneMedia(before, PRUNE_BATCH);
      total += n;
      if (n < PRUNE_BATCH) return total;
    }
  }

  close(): Promise<void> {
    return this.deps.fetcher.close();
  }
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(413, 'media too large', `the file is larger than WAGATE_MEDIA_MAX_BYTES (${maxBytes} bytes)`);
}

/** `data:image/png;base64,...` (or a percent-encoded text body) as bytes and a MIME type. */
function decodeDataUrl(url: string, maxBytes: number): IncomingFile {
  const head = DATA_URL.exec(url);
  if (!head) throw errors.badRequest('media: malformed data: URL');
  const payload = url.slice(head[0].length);
  // base64 grows 4/3: refuse before decoding a body that cannot fit.
  if (head[3] && payload.length > Math.ceil((maxBytes * 4) / 3) + 4) throw tooLarge(maxBytes);
  if (head[3] && !/^[A-Za-z0-9+/=\s_-]*$/.test(payload)) throw errors.badRequest('media: the data: URL is not valid base64');
  const bytes = head[3] ? Buffer.from(payload, 'base64') : Buffer.from(decodeURIComponent(payload), 'utf8');
  return { bytes, mimeType: head[1] ?? null, fileName: null };
}
