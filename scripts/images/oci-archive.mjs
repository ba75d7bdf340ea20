// Writes an OCI image (image-spec v1.1: layout, index, manifest, config, gzip layers) as one tar
// archive, from directories that hold each layer's files, with no registry and no daemon. What
// `ctr -n k8s.io images import` and `skopeo … oci-archive:` read (docs/images.md).
//
// Reproducible: layers are tarred by GNU tar in name order with one mtime (SOURCE_DATE_EPOCH),
// owner root and no atime/ctime, and gzipped with no name or time in the header; the config's
// dates are SOURCE_DATE_EPOCH too. The same files and settings give the same digests.
//
// Usage: node oci-archive.mjs --out FILE --name REF --created EPOCH --user UID:GID --workdir DIR
//          --entrypoint JSON [--cmd JSON] [--env K=V]... [--label K=V]...
//          --layer DIR=DESCRIPTION [--layer ...] [--summary FILE]
// Prints each layer's size, uncompressed and gzipped, and the archive's; --summary also writes
// them with the digests as JSON.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';

const MEDIA = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
};

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    name: { type: 'string' },
    created: { type: 'string' },
    user: { type: 'string' },
    workdir: { type: 'string' },
    entrypoint: { type: 'string' },
    cmd: { type: 'string' },
    env: { type: 'string', multiple: true, default: [] },
    label: { type: 'string', multiple: true, default: [] },
    layer: { type: 'string', multiple: true, default: [] },
    summary: { type: 'string' },
  },
});

function required(name) {
  const value = values[name];
  if (!value) throw new Error(`--${name} is required`);
  return value;
}

function pairs(list) {
  return Object.fromEntries(
    list.map((item) => {
      const at = item.indexOf('=');
      if (at < 1) throw new Error(`expected KEY=VALUE, got ${item}`);
      return [item.slice(0, at), item.slice(at + 1)];
    }),
  );
}

const out = resolve(required('out'));
const name = required('name');
const epoch = Number.parseInt(required('created'), 10);
if (!Number.isSafeInteger(epoch) || epoch < 0) throw new Error('--created must be epoch seconds');
const created = new Date(epoch * 1000).toISOString().replace('.000Z', 'Z');
const layers = values.layer.map((spec) => {
  const [dir, ...description] = spec.split('=');
  return { dir: resolve(dir ?? ''), description: description.join('=') || dir };
});
if (layers.length === 0) throw new Error('at least one --layer is required');

/** GNU tar flags that make the same tree give the same bytes (reproducible-builds.org). */
function tarFlags() {
  return [
    '--sort=name',
    `--mtime=@${epoch}`,
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--format=posix',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
  ];
}

/** Runs tar over the entries of `dir` and returns its standard output, failing on a bad exit. */
async function tarStream(dir) {
  const entries = (await readdir(dir)).sort();
  if (entries.length === 0) throw new Error(`${dir} is empty`);
  const tar = spawn(
    'tar',
    ['--create', '--file=-', `--directory=${dir}`, ...tarFlags(), ...entries],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = once(tar, 'close').then(([code]) => {
    if (code !== 0) throw new Error(`tar of ${dir} exited with ${code}`);
  });
  return { stream: tar.stdout, exited };
}

/** A pass-through that hashes and counts what flows through it. */
function digester() {
  const hash = createHash('sha256');
  let size = 0;
  const stream = new Transform({
    transform(chunk, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  return { stream, result: () => ({ digest: `sha256:${hash.digest('hex')}`, size }) };
}

async function writeBlob(blobs, bytes) {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  await writeFile(join(blobs, digest.slice('sha256:'.length)), bytes);
  return { digest, size: bytes.length };
}

const work = await mkdtemp(join(tmpdir(), 'oci-archive-'));
try {
  const layout = join(work, 'layout');
  const blobs = join(layout, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });

  const written = [];
  for (const layer of layers) {
    const { stream, exited } = await tarStream(layer.dir);
    const plain = digester();
    const packed = digester();
    const partial = join(blobs, 'partial');
    await pipeline(
      stream,
      plain.stream,
      createGzip({ level: 9 }),
      packed.stream,
      createWriteStream(partial),
    );
    await exited;
    const diff = plain.result();
    const blob = packed.result();
    await rename(partial, join(blobs, blob.digest.slice('sha256:'.length)));
    written.push({ ...layer, diffId: diff.digest, tarSize: diff.size, ...blob });
  }

  const config = {
    created,
    architecture: 'amd64',
    os: 'linux',
    config: {
      User: required('user'),
      Env: values.env,
      Entrypoint: JSON.parse(required('entrypoint')),
      ...(values.cmd ? { Cmd: JSON.parse(values.cmd) } : {}),
      WorkingDir: required('workdir'),
      Labels: pairs(values.label),
    },
    rootfs: { type: 'layers', diff_ids: written.map((layer) => layer.diffId) },
    history: written.map((layer) => ({ created, created_by: layer.description })),
  };
  const configBlob = await writeBlob(blobs, Buffer.from(JSON.stringify(config)));
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config: { mediaType: MEDIA.config, ...configBlob },
    layers: written.map((layer) => ({
      mediaType: MEDIA.layer,
      digest: layer.digest,
      size: layer.size,
    })),
    annotations: { 'org.opencontainers.image.created': created },
  };
  const manifestBlob = await writeBlob(blobs, Buffer.from(JSON.stringify(manifest)));
  const tag = name.slice(name.lastIndexOf(':') + 1);
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: [
      {
        mediaType: MEDIA.manifest,
        ...manifestBlob,
        platform: { architecture: 'amd64', os: 'linux' },
        annotations: {
          // containerd names the imported image after this one (ctr images import).
          'io.containerd.image.name': name,
          // The OCI layout's own reference: the tag (skopeo oci-archive:FILE:TAG).
          'org.opencontainers.image.ref.name': tag,
        },
      },
    ],
  };
  await writeFile(join(layout, 'index.json'), JSON.stringify(index));
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));

  await mkdir(dirname(out), { recursive: true });
  const archive = spawn(
    'tar',
    [
      '--create',
      `--file=${out}.partial`,
      `--directory=${layout}`,
      ...tarFlags(),
      'blobs',
      'index.json',
      'oci-layout',
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const [code] = await once(archive, 'close');
  if (code !== 0) throw new Error(`tar of the layout exited with ${code}`);
  await rename(`${out}.partial`, out);

  const summary = {
    archive: out,
    archiveBytes: (await stat(out)).size,
    name,
    manifest: manifestBlob.digest,
    config: configBlob.digest,
    uncompressedBytes: written.reduce((sum, layer) => sum + layer.tarSize, 0),
    compressedBytes: written.reduce((sum, layer) => sum + layer.size, 0),
    layers: written.map((layer) => ({
      description: layer.description,
      digest: layer.digest,
      diffId: layer.diffId,
      tarBytes: layer.tarSize,
      gzipBytes: layer.size,
    })),
  };
  if (values.summary) await writeFile(values.summary, `${JSON.stringify(summary, null, 2)}\n`);
  const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`.padStart(10);
  for (const layer of written) {
    const label = layer.description.split(':')[0] ?? '';
    console.log(
      `layer ${label.padEnd(6)} ${mib(layer.tarSize)} uncompressed ${mib(layer.size)} gzip`,
    );
  }
  console.log(
    `image        ${mib(summary.uncompressedBytes)} uncompressed ${mib(summary.compressedBytes)} gzip`,
  );
  console.log(
    `${out}: ${summary.archiveBytes} bytes (${mib(summary.archiveBytes).trim()}), ${name}`,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
