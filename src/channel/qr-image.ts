import QRCode from 'qrcode';

/** Renders QR text as a PNG. */
export function qrPng(text: string): Promise<Buffer> {
  // One fixed row filter (Paeth) compresses a QR as well as the adaptive choice, in less time.
  const options = { type: 'png', errorCorrectionLevel: 'L', margin: 2, width: 264, rendererOpts: { filterType: 4 } };
  return QRCode.toBuffer(text, options as QRCode.QRCodeToBufferOptions);
}

/** Renders QR text as a `data:image/png;base64,...` URL (Whapi's `base64` field). */
export async function qrDataUrl(text: string): Promise<string> {
  return `data:image/png;base64,${(await qrPng(text)).toString('base64')}`;
}
