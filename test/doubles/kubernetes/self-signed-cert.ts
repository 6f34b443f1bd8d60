// A throwaway self-signed certificate for 127.0.0.1, built with node:crypto alone (no openssl on a
// bare CI box): kubectl drops bearer tokens over plain http, so the API double must speak TLS.
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';

export interface SelfSignedCertificate {
  /** PEM certificate; doubles as its own CA (`certificate-authority-data`). */
  certPem: string;
  /** PEM PKCS#8 private key. */
  keyPem: string;
}

/**
 * Makes an ECDSA P-256 certificate valid for a day, with SAN `IP:127.0.0.1` and `DNS:localhost`,
 * and CA:true so clients can trust it as the root of its own one-link chain.
 *
 * @example
 * const { certPem, keyPem } = selfSignedCertificate('kubernetes-double');
 * https.createServer({ cert: certPem, key: keyPem });
 */
export function selfSignedCertificate(commonName = '127.0.0.1', now = new Date()): SelfSignedCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const ecdsaWithSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const name = seq(set(seq(oid('2.5.4.3'), utf8(commonName))));
  const notBefore = new Date(now.getTime() - 60 * 60 * 1000);
  const notAfter = new Date(now.getTime() + 24 * 60 * 60 * 1000);
  const serial = randomBytes(16);
  // DER INTEGERs are minimal and signed: first byte 0x40..0x7f is positive and never padding.
  serial[0] = ((serial[0] ?? 0) & 0x3f) | 0x40;
  const extensions = seq(
    extension('2.5.29.19', true, seq(bool(true))), // basicConstraints CA:true
    extension('2.5.29.15', true, bitString(Buffer.from([0x84]), 2)), // keyUsage digitalSignature, keyCertSign
    extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))), // extKeyUsage serverAuth
    extension(
      '2.5.29.17',
      false,
      seq(tlv(0x87, Buffer.from([127, 0, 0, 1])), tlv(0x82, Buffer.from('localhost'))), // SAN
    ),
  );
  const tbs = seq(
    tlv(0xa0, integer(Buffer.from([2]))), // v3
    integer(serial),
    ecdsaWithSha256,
    name,
    seq(utcTime(notBefore), utcTime(notAfter)),
    name,
    Buffer.from(spki),
    tlv(0xa3, extensions),
  );
  const signature = sign('sha256', tbs, privateKey); // DER-encoded ECDSA signature
  const certificate = seq(tbs, ecdsaWithSha256, bitString(signature));
  return {
    certPem: pem('CERTIFICATE', certificate),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function tlv(tag: number, value: Buffer): Buffer {
  const length = value.length;
  let header: Buffer;
  if (length < 0x80) header = Buffer.from([tag, length]);
  else if (length < 0x100) header = Buffer.from([tag, 0x81, length]);
  else header = Buffer.from([tag, 0x82, length >> 8, length & 0xff]);
  return Buffer.concat([header, value]);
}

const seq = (...parts: Buffer[]) => tlv(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]) => tlv(0x31, Buffer.concat(parts));
const utf8 = (text: string) => tlv(0x0c, Buffer.from(text, 'utf8'));
const bool = (value: boolean) => tlv(0x01, Buffer.from([value ? 0xff : 0]));
const octets = (value: Buffer) => tlv(0x04, value);
const bitString = (value: Buffer, unusedBits = 0) =>
  tlv(0x03, Buffer.concat([Buffer.from([unusedBits]), value]));

function integer(value: Buffer): Buffer {
  // DER integers are signed: a leading high bit needs a zero byte in front.
  const needsPad = ((value[0] ?? 0) & 0x80) !== 0;
  return tlv(0x02, needsPad ? Buffer.concat([Buffer.from([0]), value]) : value);
}

function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let rem = arc >> 7; rem > 0; rem >>= 7) chunk.unshift((rem & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function utcTime(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const text = `${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return tlv(0x17, Buffer.from(text, 'ascii'));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}
