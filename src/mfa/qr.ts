/** The enrolment QR code as inline SVG (no script, no image request): the otpauth URI, error correction M. */
import qrcode from 'qrcode';

export function qrSvg(text: string): Promise<string> {
  return qrcode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}
