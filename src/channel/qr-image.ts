import QRCode from 'qrcode';

/** Renders QR text as a PNG. */
export function qrPng(text: string): Promise<Buffer> {
  return QRCode.toBuffer(text, { type: 'png', errorCorrectionLevel: 'L', margin: 2, width: 264 });
}

/** Renders QR text as a `data:image/png;base64,...` URL (Whapi's `base64` field). */
export async function qrDataUrl(text: string): Promise<string> {
  return `data:image/png;base64,${(await qrPng(text)).toString('base64')}`;
}
