/**
 * The package as a user gets it: `npm pack`, the tarball installed into an
 * empty project outside the repository (under os.tmpdir()), then
 *
 * 1. every ```ts block of README.md type-checks against the installed
 *    package (strict, module/moduleResolution NodeNext), each block a module
 *    of its own;
 * 2. the "Library use" block runs, in that project, against a scripted
 *    presence server. The only changes to it are two values, each of which
 *    must occur exactly once in the block: the outbound proxy
 *    `sip:127.0.0.1:5070` becomes the scripted server's address, and the
 *    listening port 5060 becomes 0 (any free port).
 *
 * The install uses `--prefer-offline`: after the project's own `npm ci` the
 * npm cache holds every dependency, so nothing is downloaded, and no lock
 * file is written.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import ts from 'typescript';
import { repoRoot, readmeSection } from '../support/repo-root.js';
import { ScriptedSipPeer } from '../support/scripted-peer.js';

const run = promisify(execFile);

/** The README's proxy and listening port in the Library use block, and what the run uses instead. */
const PROXY_IN_README = "'sip:127.0.0.1:5070'";
const PORT_IN_README = 'port: 5060';

/** Every ```ts block of README.md, with the heading of the section it is in. */
function tsBlocks(readme: string): Array<{ section: string; code: string }> {
  const out: Array<{ section: string; code: string }> = [];
  let section = '';
  const lines = readme.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('#')) section = line.replace(/^#+\s*/, '');
    if (line.trim() !== '```ts') continue;
    const end = lines.indexOf('```', i + 1);
    assert.ok(end > i, `unterminated ts block after line ${i + 1}`);
    out.push({ section, code: `${lines.slice(i + 1, end).join('\n')}\n` });
    i = end;
  }
  return out;
}

/** The environment of a child npm: no `npm_*` variables of the `npm test` that runs us (the cache location stays). */
function npmEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('npm_') || key === 'npm_config_cache') env[key] = value;
  }
  return env;
}

/**
 * Type-checks `files` as a user's project would (strict, NodeNext, the
 * installed package and its dependencies). The package's own declaration
 * files are checked too (an import in them that does not resolve would
 * otherwise turn a type into `any` silently); the dependencies' are not,
 * which is what keeps this at a few seconds instead of twenty.
 */
function typeCheck(files: string[], root: string): string {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts'],
    strict: true,
    noEmit: true,
    // A user installs @types/node themselves; ours stands in for it.
    typeRoots: [join(root, 'node_modules/@types')],
    types: ['node'],
  };
  const program = ts.createProgram(files, options);
  const checked = program.getSourceFiles().filter((f) => files.includes(f.fileName) || f.fileName.includes('/node_modules/presence-b2b/'));
  assert.ok(checked.some((f) => f.fileName.endsWith('/node_modules/presence-b2b/dist/src/index.d.ts')), 'the blocks did not load the installed package');
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...checked.flatMap((f) => [...program.getSyntacticDiagnostics(f), ...program.getSemanticDiagnostics(f)]),
  ];
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => join(files[0]!, '..', '..'),
    getNewLine: () => '\n',
  });
}

function replaceOnce(code: string, from: string, to: string): string {
  const at = code.indexOf(from);
  assert.ok(at !== -1 && code.indexOf(from, at + 1) === -1, `the Library use block must contain ${from} exactly once`);
  return code.slice(0, at) + to + code.slice(at + from.length);
}

describe('the packed package and README.md', { timeout: 300_000 }, () => {
  const root = repoRoot();
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const project = mkdtempSync(join(tmpdir(), 'pb2b-package-'));
  const timings: string[] = [];

  before(async () => {
    const t0 = performance.now();
    const env = npmEnvironment();
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', project], { cwd: root, env, maxBuffer: 16 << 20 });
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    assert.ok(packed !== undefined, 'npm pack reported no tarball');
    // Only the built library, the status page's three files and the README go out: no tests, benchmarks or sources.
    const page = ['status-page/index.html', 'status-page/status-page.css', 'status-page/status-page.js'];
    const stray = packed.files.map((f) => f.path).filter((p) => !p.startsWith('dist/src/') && !['package.json', 'README.md', ...page].includes(p));
    assert.deepEqual(stray, [], 'files outside dist/src and status-page in the tarball');
    assert.deepEqual(packed.files.map((f) => f.path).filter((p) => p.startsWith('status-page/')).sort(), page, 'the status page ships (the daemon serves it at /)');
    const t1 = performance.now();
    writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'readme-check', private: true, type: 'module' }, null, 2)}\n`);
    await run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', '--ignore-scripts', join(project, packed.filename)],
      { cwd: project, env, maxBuffer: 16 << 20 },
    );
    timings.push(`npm pack ${Math.round(t1 - t0)} ms, npm install ${Math.round(performance.now() - t1)} ms`);
  });

  after(() => {
    if (timings.length > 0) process.stdout.write(`# ${timings.join('; ')}\n`);
    rmSync(project, { recursive: true, force: true });
  });

  it('every ts block of README.md type-checks against the installed package (strict, NodeNext)', async () => {
    const blocks = tsBlocks(readme);
    assert.ok(blocks.length >= 2, 'README.md has its Library use and Public API blocks');
    assert.ok(blocks.some((b) => b.section === 'Library use'));
    const dir = join(project, 'readme');
    mkdirSync(dir, { recursive: true });
    const files = blocks.map((block, i) => {
      const file = join(dir, `block-${i + 1}.ts`);
      writeFileSync(file, block.code);
      return file;
    });
    const t0 = performance.now();
    const diagnostics = typeCheck(files, root);
    timings.push(`type check ${Math.round(performance.now() - t0)} ms for ${blocks.length} blocks`);
    const where = blocks.map((b, i) => `block-${i + 1}.ts: README ## ${b.section}`).join('\n');
    assert.equal(diagnostics, '', `README.md's ts blocks do not type-check against the package:\n${where}`);
  });

  it('the Library use example runs against a scripted presence server', async () => {
    const section = readmeSection(readme, 'Library use');
    const block = tsBlocks(section)[0];
    assert.ok(block !== undefined, 'no ts block in ## Library use');
    const peer = await ScriptedSipPeer.start({ transport: 'udp' });
    try {
      let code = replaceOnce(block.code, PROXY_IN_README, `'${peer.uri()}'`);
      code = replaceOnce(code, PORT_IN_README, 'port: 0');
      // Types only go (the block was type-checked above); the project is `type: module`, so ES module output.
      const js = ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } }).outputText;
      writeFileSync(join(project, 'library-use.js'), js);

      const child = spawn(process.execPath, ['library-use.js'], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (status) => resolve(status)));
      const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      try {
        // The presence server's side of one subscription: 200, a NOTIFY saying open, then the unSUBSCRIBE.
        const subscribe = await peer.expectRequest({ method: 'SUBSCRIBE', timeoutMs: 15_000 });
        assert.equal(subscribe.message.uri, 'sip:alice@example.com');
        const contact: readonly [string, string] = ['Contact', `<${peer.uri('ps')}>`];
        await peer.reply(subscribe, 200, { toTag: 'srv1', headers: [['Expires', '3600'], contact] });
        await peer.sendNotify(subscribe.from, { ...peer.notifyOptionsFor(subscribe, 'srv1'), cseq: 1 });
        assert.equal((await peer.expectResponse({ method: 'NOTIFY', timeoutMs: 5000 })).message.status, 200);
        const unsubscribe = await peer.expectRequest({ method: 'SUBSCRIBE', timeoutMs: 5000 });
        assert.equal(unsubscribe.message.headers.get('Expires'), '0');
        await peer.reply(unsubscribe, 200, { headers: [['Expires', '0'], contact] });
        await peer.sendNotify(subscribe.from, {
          ...peer.notifyOptionsFor(subscribe, 'srv1'),
          cseq: 2,
          subscriptionState: 'terminated;reason=timeout',
          body: '',
        });
        await peer.expectResponse({ method: 'NOTIFY', timeoutMs: 5000 });
        assert.equal(await exited, 0, output);
      } catch (error) {
        throw new Error(`${error instanceof Error ? error.message : String(error)}\nthe example printed:\n${output}`, { cause: error });
      } finally {
        clearTimeout(killer);
        child.kill('SIGKILL');
      }
      assert.equal(output, 'active open\n');
    } finally {
      await peer.close();
    }
  });

  it('installed only what the package declares (no stray files in the install)', () => {
    const installed = readdirSync(join(project, 'node_modules/presence-b2b')).sort();
    assert.deepEqual(installed, ['README.md', 'dist', 'package.json', 'status-page']);
  });
});
