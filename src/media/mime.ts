// The few MIME types wagate needs to name: a media id's prefix and a file name's type.
const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'video/mp4': 'mp4',
  'video/3gpp': '3gp',
  'audio/ogg': 'ogg',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'audio/aac': 'aac',
  'audio/amr': 'amr',
  'application/pdf': 'pdf',
  'application/msword': 'doc',
  'application/vnd.ms-excel': 'xls',
  'application/vnd.ms-powerpoint': 'ppt',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
  'text/plain': 'txt',
  'text/vcard': 'vcf',
};
const BY_EXTENSION: Record<string, string> = { ...Object.fromEntries(Object.entries(EXTENSIONS).map(([m, e]) => [e, m])), jpeg: 'image/jpeg', opus: 'audio/ogg', oga: 'audio/ogg' };

/** The short name of a MIME type, as a media id's prefix (`image/jpeg` → `jpg`). */
export function extensionOf(mimeType: string): string {
  const base = mimeType.split(';')[0]!.trim().toLowerCase();
  return EXTENSIONS[base] ?? (base.split('/')[1]?.replace(/[^a-z0-9]/g, '').slice(0, 10) || 'bin');
}

/** The MIME type a file name's extension names, or null. */
export function mimeFromName(fileName: string | null | undefined): string | null {
  const ext = fileName?.split('.').pop()?.toLowerCase();
  return (ext && BY_EXTENSION[ext]) || null;
}
