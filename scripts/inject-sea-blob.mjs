// Puts a Node single-executable-application blob into a copy of the node binary (Linux, ELF64 little
// endian), the way Node's SEA start-up looks for it, with no tool beyond Node:
//   - the blob is an ELF note named NODE_SEA_BLOB in a PT_NOTE segment: node finds it by walking its own
//     program headers in memory (dl_iterate_phdr), so the note must also be loaded, by a PT_LOAD;
//   - the program header table has no room for two more entries where it is, so a grown copy of it goes
//     at the end of the file with the note, in that one new read-only PT_LOAD, and PT_PHDR and e_phoff
//     point there. The new segment's address keeps the first segment's address-minus-offset, so the
//     kernel's AT_PHDR lands on the new table whichever way a kernel computes it;
//   - the sentinel fuse NODE_SEA_FUSE_…:0 becomes :1, which tells node to look for the blob at all.
// Nothing that exists in the file moves: code, data and section headers keep their offsets.

const PT_LOAD = 1;
const PT_NOTE = 4;
const PT_PHDR = 6;
const PF_R = 4;
const PHENT = 56;
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:';
const NOTE_NAME = 'NODE_SEA_BLOB';

const up = (n, a) => Math.ceil(n / a) * a;

function readPhdrs(elf, phoff, phnum) {
  const out = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * PHENT;
    out.push({
      type: elf.readUInt32LE(o),
      flags: elf.readUInt32LE(o + 4),
      offset: Number(elf.readBigUInt64LE(o + 8)),
      vaddr: Number(elf.readBigUInt64LE(o + 16)),
      paddr: Number(elf.readBigUInt64LE(o + 24)),
      filesz: Number(elf.readBigUInt64LE(o + 32)),
      memsz: Number(elf.readBigUInt64LE(o + 40)),
      align: Number(elf.readBigUInt64LE(o + 48)),
    });
  }
  return out;
}

function writePhdr(buf, o, p) {
  buf.writeUInt32LE(p.type, o);
  buf.writeUInt32LE(p.flags, o + 4);
  for (const [at, v] of [[8, p.offset], [16, p.vaddr], [24, p.paddr], [32, p.filesz], [40, p.memsz], [48, p.align]]) buf.writeBigUInt64LE(BigInt(v), o + at);
}

/** An ELF note: namesz, descsz, type, then the NUL-terminated name and the description, each padded to 4. */
function note(name, desc) {
  const n = Buffer.from(`${name}\0`);
  const head = Buffer.alloc(12);
  head.writeUInt32LE(n.length, 0);
  head.writeUInt32LE(desc.length, 4);
  head.writeUInt32LE(0, 8);
  return Buffer.concat([head, n, Buffer.alloc(up(n.length, 4) - n.length), desc, Buffer.alloc(up(desc.length, 4) - desc.length)]);
}

/**
 * A copy of the node binary `elf` with the SEA `blob` injected and its fuse set.
 * Throws when `elf` is not a node binary this can handle (not ELF64 LE, no fuse, already injected).
 * @param {Buffer} elf
 * @param {Buffer} blob the output of `node --experimental-sea-config`
 * @returns {Buffer}
 */
export function injectSeaBlob(elf, blob) {
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) throw new Error('not a 64-bit little-endian ELF file');
  const fuseAt = elf.indexOf(FUSE);
  if (fuseAt < 0 || elf.indexOf(FUSE, fuseAt + 1) >= 0) throw new Error('the SEA fuse is missing or not unique: this node does not support single executable applications');
  if (elf[fuseAt + FUSE.length] !== 0x30) throw new Error('this binary already carries a SEA blob (fuse set)');
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phnum = elf.readUInt16LE(0x38);
  if (elf.readUInt16LE(0x36) !== PHENT) throw new Error('unexpected program header size');
  const phdrs = readPhdrs(elf, phoff, phnum);
  const loads = phdrs.filter((p) => p.type === PT_LOAD);
  if (!loads.length) throw new Error('no PT_LOAD segment');
  const align = Math.max(0x1000, ...loads.map((p) => p.align));
  const delta = loads[0].vaddr - loads[0].offset;

  const table = Buffer.alloc((phnum + 2) * PHENT);
  const blobNote = note(NOTE_NAME, blob);
  const offset = up(elf.length, align);
  const vaddr = offset + delta;
  const top = Math.max(...loads.map((p) => p.vaddr + p.memsz));
  if (vaddr < top) throw new Error(`no room above the last segment (0x${top.toString(16)}) for the blob at 0x${vaddr.toString(16)}`);
  const size = table.length + blobNote.length;

  const load = { type: PT_LOAD, flags: PF_R, offset, vaddr, paddr: vaddr, filesz: size, memsz: size, align };
  const noteSeg = { type: PT_NOTE, flags: PF_R, offset: offset + table.length, vaddr: vaddr + table.length, paddr: vaddr + table.length, filesz: blobNote.length, memsz: blobNote.length, align: 4 };
  // Segment order as the loaders expect it: PT_PHDR first, PT_LOADs ascending by address.
  const lastLoad = phdrs.lastIndexOf(loads[loads.length - 1]);
  const grown = [...phdrs.slice(0, lastLoad + 1), load, ...phdrs.slice(lastLoad + 1), noteSeg].map((p) =>
    p.type === PT_PHDR ? { ...p, offset, vaddr, paddr: vaddr, filesz: table.length, memsz: table.length } : p,
  );
  grown.forEach((p, i) => writePhdr(table, i * PHENT, p));

  const head = Buffer.from(elf);
  head.writeBigUInt64LE(BigInt(offset), 0x20);
  head.writeUInt16LE(phnum + 2, 0x38);
  head[fuseAt + FUSE.length] = 0x31;
  return Buffer.concat([head, Buffer.alloc(offset - elf.length), table, blobNote]);
}
