#!/usr/bin/env node
// npm run teams:package: fills teams/manifest.json from the environment (TEAMS_APP_ID is the bot's
// Microsoft App ID) and zips it with the two icons into the app package to upload to Teams.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ICONS = { 'color.png': 192, 'outline.png': 32 };

class PackageError extends Error {
  constructor(message, hint) {
    super(message);
    this.hint = hint;
  }
}

/** Replaces ${NAME} and ${NAME:-default} with values from `env`; a missing NAME without default is an error. */
export function fillManifest(template, env) {
  const missing = new Set();
  const text = template.replace(/\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g, (_, name, fallback) => {
    const value = env[name];
    if (value !== undefined && value !== '') return JSON.stringify(value).slice(1, -1);
    if (fallback !== undefined) return fallback;
    missing.add(name);
    return '';
  });
  if (missing.size > 0) {
    throw new PackageError(
      `${[...missing].join(', ')} ${missing.size === 1 ? 'is' : 'are'} not set`,
      'export TEAMS_APP_ID=<the Microsoft App ID of the bot registration (a GUID)> and run npm run teams:package again',
    );
  }
  const manifest = JSON.parse(text);
  for (const [where, value] of [
    ['id', manifest.id],
    ['bots[0].botId', manifest.bots?.[0]?.botId],
  ]) {
    if (!GUID.test(value ?? '')) {
      throw new PackageError(
        `${where} is "${value}", not a GUID`,
        'TEAMS_APP_ID must be the App ID of the Azure Bot registration, like 00000000-0000-0000-0000-000000000000',
      );
    }
  }
  return manifest;
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(bytes, name) {
  if (bytes.length < 24 || bytes.readUInt32BE(0) !== 0x89504e47)
    throw new PackageError(`${name} is not a PNG`);
  return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** A zip archive (deflated entries, no folders) as Teams expects: the files at the root. */
export function zip(files) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const [name, data] of files) {
    const nameBytes = Buffer.from(name, 'utf8');
    const packed = deflateRawSync(data);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt32LE(0, 10); // time and date: 1980-01-01, so the package is reproducible
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(0, 12);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, packed);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + packed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** Builds the package; returns where it was written. */
export function buildPackage({
  env = process.env,
  out = path.join(HERE, '..', 'dist', 'teams', 'millwright-teams.zip'),
} = {}) {
  const manifest = fillManifest(readFileSync(path.join(HERE, 'manifest.json'), 'utf8'), env);
  const files = [['manifest.json', Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`)]];
  for (const [name, size] of Object.entries(ICONS)) {
    const bytes = readFileSync(path.join(HERE, name));
    const [width, height] = pngSize(bytes, name);
    if (width !== size || height !== size)
      throw new PackageError(`${name} is ${width}x${height}; Teams wants ${size}x${size}`);
    files.push([name, bytes]);
  }
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, zip(files));
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outFlag = process.argv.indexOf('--out');
  try {
    const written = buildPackage(
      outFlag > 0 && process.argv[outFlag + 1] ? { out: path.resolve(process.argv[outFlag + 1]) } : {},
    );
    process.stdout.write(
      `Teams app package: ${path.relative(process.cwd(), written) || written}\nUpload it in Teams: Apps > Manage your apps > Upload an app.\n`,
    );
  } catch (error) {
    const hint = error instanceof PackageError && error.hint ? `\nhint: ${error.hint}` : '';
    process.stderr.write(`millwright teams:package: ${error.message}${hint}\n`);
    process.exitCode = 2;
  }
}
