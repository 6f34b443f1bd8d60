// The Teams app package: the manifest lists every verb, the icons have the sizes Teams wants, and
// `npm run teams:package` writes a zip with the bot id filled in (or says what is missing).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';
import { CommandRegistry } from '../../../src/core/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const run = promisify(execFile);
const BOT_ID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';

interface Manifest {
  manifestVersion: string;
  id: string;
  icons: { color: string; outline: string };
  bots: Array<{
    botId: string;
    scopes: string[];
    commandLists: Array<{ scopes: string[]; commands: Array<{ title: string; description: string }> }>;
  }>;
}

/** The files in a zip archive, read from its central directory. */
function unzip(archive: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const end = archive.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  let at = archive.readUInt32LE(end + 16);
  for (let i = 0; i < archive.readUInt16LE(end + 10); i++) {
    const method = archive.readUInt16LE(at + 10);
    const packedSize = archive.readUInt32LE(at + 20);
    const nameLength = archive.readUInt16LE(at + 28);
    const extraLength = archive.readUInt16LE(at + 30);
    const commentLength = archive.readUInt16LE(at + 32);
    const local = archive.readUInt32LE(at + 42);
    const name = archive.toString('utf8', at + 46, at + 46 + nameLength);
    const dataStart = local + 30 + archive.readUInt16LE(local + 26) + archive.readUInt16LE(local + 28);
    const packed = archive.subarray(dataStart, dataStart + packedSize);
    files.set(name, method === 8 ? inflateRawSync(packed) : packed);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return files;
}

const pngSize = (bytes: Buffer) => [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];

describe('Teams app package', () => {
  let manifest: Manifest;

  beforeAll(async () => {
    manifest = JSON.parse(await readFile(path.join(ROOT, 'teams/manifest.json'), 'utf8')) as Manifest;
  });

  test('the manifest is a current schema, offers the bot in personal, team and group chat, and lists every verb', async () => {
    expect(Number(manifest.manifestVersion)).toBeGreaterThanOrEqual(1.17);
    const [bot] = manifest.bots;
    expect(bot!.scopes.sort()).toEqual(['groupChat', 'personal', 'team']);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the manifest's placeholder, filled in at packaging time
    expect(bot!.botId).toBe('${TEAMS_APP_ID}');
    const commands = bot!.commandLists.flatMap((list) => list.commands);
    expect(bot!.commandLists.every((list) => list.commands.length <= 10)).toBe(true);
    for (const command of commands) {
      expect(command.title.length).toBeLessThanOrEqual(32);
      expect(command.description.length).toBeLessThanOrEqual(128);
    }
    const registry = new CommandRegistry();
    await registry.loadDirectory(path.join(ROOT, 'commands'));
    const titles = commands.map((command) => command.title);
    for (const verb of registry.list().map((definition) => definition.name)) expect(titles).toContain(verb);
    for (const verb of [
      'help',
      'runbook',
      'deploys',
      'budget',
      'change',
      'incident',
      'digest',
      'audit',
      'whoami',
    ]) {
      expect(titles).toContain(verb);
    }
  });

  test('the icons are a 192x192 color icon and a 32x32 outline icon', async () => {
    expect(pngSize(await readFile(path.join(ROOT, 'teams', manifest.icons.color)))).toEqual([192, 192]);
    expect(pngSize(await readFile(path.join(ROOT, 'teams', manifest.icons.outline)))).toEqual([32, 32]);
  });

  test('npm run teams:package writes the zip with the bot id from the environment', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-teams-package-'));
    try {
      const out = path.join(dir, 'app.zip');
      const { stdout } = await run('node', [path.join(ROOT, 'teams/package.mjs'), '--out', out], {
        env: { ...process.env, TEAMS_APP_ID: BOT_ID, TEAMS_DEVELOPER_URL: 'https://sre.example.org' },
      });
      expect(stdout).toContain('Teams app package:');
      const files = unzip(await readFile(out));
      expect([...files.keys()].sort()).toEqual(['color.png', 'manifest.json', 'outline.png']);
      const packaged = JSON.parse(files.get('manifest.json')!.toString('utf8')) as Manifest & {
        developer: { websiteUrl: string; privacyUrl: string };
      };
      expect(packaged.id).toBe(BOT_ID);
      expect(packaged.bots[0]!.botId).toBe(BOT_ID);
      expect(packaged.developer.websiteUrl).toBe('https://sre.example.org');
      expect(packaged.developer.privacyUrl).toBe('https://example.com/millwright/privacy');
      expect(JSON.stringify(packaged)).not.toContain('${');
      expect(pngSize(files.get('color.png')!)).toEqual([192, 192]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('without TEAMS_APP_ID it fails with one line and a hint', async () => {
    const env = { ...process.env };
    delete env.TEAMS_APP_ID;
    const failure = await run(
      'node',
      [path.join(ROOT, 'teams/package.mjs'), '--out', path.join(os.tmpdir(), 'never.zip')],
      {
        env,
      },
    ).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toBe(
      'millwright teams:package: TEAMS_APP_ID is not set\nhint: export TEAMS_APP_ID=<the Microsoft App ID of the bot registration (a GUID)> and run npm run teams:package again\n',
    );
  });
});
