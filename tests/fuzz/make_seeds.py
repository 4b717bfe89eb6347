#!/usr/bin/env python3
"""Seeds for the fuzz targets (scripts/fuzz): make_seeds.py SOURCE_DIR BUILD_DIR OUT_DIR.

gdn_opt / pipelines: every examples/*.mlir and every tests/lit file split at its `// -----`
markers (pipelines: each prefixed with selector bytes that pick the pipeline, see
fuzz_pipelines.cpp); metadata: the kernel records the main build compiled (gpu-artifacts,
bench-kernels); cache_entry: whole cache entries made from those records and their PTX (the
format of codegen/lib/jit/CacheEntry.h); npy: small arrays of every dtype and version; tuning:
valid tuning-file lines of each form.
"""
import glob, os, shutil, struct, sys

src, build, out = sys.argv[1:4]
shutil.rmtree(out, ignore_errors=True)  # made anew: seeds follow the formats of this checkout


def write(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# MLIR: examples and lit files, split as -split-input-file does.
pieces = []
for path in sorted(glob.glob(os.path.join(src, "examples", "*.mlir")) +
                   glob.glob(os.path.join(src, "tests", "lit", "**", "*.mlir"), recursive=True)):
    text = open(path).read()
    for i, piece in enumerate(text.split("// -----")):
        if "func.func" in piece:
            pieces.append((os.path.relpath(path, src).replace("/", "_") + f".{i}", piece))
for name, piece in pieces:
    write("gdn_opt", name, piece)
    for selector in (0x00, 0x11, 0x22, 0x33, 0x40, 0x45, 0x5A, 0x61, 0x70, 0x75):
        write("pipelines", f"{name}.{selector:02x}", bytes([selector]) + piece.encode())
# Structured pipeline inputs (fuzz_pipelines.cpp, structuredLayer): selector | 0x80, then the
# bytes that pick a layer.
for i, layer in enumerate([b"\x05\x05\x09\x07\x00", b"\x06\x01\x09\x13\x81",
                           b"\x04\x09\x12\x04\x83", b"\x00\x00\x00\x00\x00",
                           b"\x0d\x05\x09\x27\x02", b"\x02\x85\x0e\x03\x86"]):
    for selector in (0x80, 0x91, 0xA2, 0xC5, 0xD9, 0xF5):
        write("pipelines", f"structured.{i}.{selector:02x}", bytes([selector]) + layer)

# Kernel records and cache entries.
def fnv128(data):
    a, b = 0xcbf29ce484222325, 0x84222325cbf29ce4
    m = (1 << 64) - 1
    for c in data:
        a = ((a ^ c) * 0x100000001b3) & m
        b = (((b ^ c) * 0x100000001b3) + 0x9e3779b97f4a7c15) & m
    return f"{a:016x}{b:016x}"

metas = sorted(glob.glob(os.path.join(build, "gpu-artifacts", "*.meta")) +
               glob.glob(os.path.join(build, "bench-kernels", "*.meta")))
for path in metas:
    meta = open(path, "rb").read()
    name = os.path.basename(path)
    write("metadata", name, meta)
    ptx_path = path[:-5] + ".ptx"
    if len(glob.glob(os.path.join(out, "cache_entry", "*"))) < 12 and os.path.exists(ptx_path):
        ptx = open(ptx_path, "rb").read()
        cubin = b"\x7fELF" + bytes(60)
        payload = meta + ptx + cubin
        key = fnv128(name.encode())
        summed = fnv128(key.encode() + b"\n" + payload)  # the key is covered too
        header = (f"gdn-jit-cache 1\nkey {key}\nmeta {len(meta)}\nptx {len(ptx)}\n"
                  f"cubin {len(cubin)}\nfnv1a {summed}\n\n").encode()
        write("cache_entry", name[:-5] + ".gdnk", header + payload)

# .npy arrays.
def npy(descr, shape, data, major=1):
    shape_text = "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}"
    length_bytes = 2 if major == 1 else 4
    pad = 64 - (10 + (length_bytes - 2) + len(header) + 1) % 64
    header += " " * pad + "\n"
    length = struct.pack("<H" if major == 1 else "<I", len(header))
    return b"\x93NUMPY" + bytes([major, 0]) + length + header.encode() + data

write("npy", "f4_2x3", npy("<f4", [2, 3], struct.pack("<6f", *range(6))))
write("npy", "f8_4", npy("<f8", [4], struct.pack("<4d", 1, -2, 3.5, 0)))
write("npy", "i4_3", npy("<i4", [3], struct.pack("<3i", 0, 5, 9)))
write("npy", "i8_2x1x2", npy("<i8", [2, 1, 2], struct.pack("<4q", 0, 1, 2, 3)))
write("npy", "f4_scalar", npy("<f4", [], struct.pack("<f", 1.5)))
write("npy", "f4_v2", npy("<f4", [2], struct.pack("<2f", 1, 2), major=2))
write("npy", "f4_empty", npy("<f4", [0, 3], b""))

# Tuning files.
key = "0123456789abcdef0123456789abcdef"
write("tuning", "current",
      "# gdn tuning\n"
      f"{key} b4t4096 chunked 16 128 8 sliced 3 1 64 0.321 whole stmatrix wgmma 4\n"
      f"{key} b1t8192 chunked 32 64 4 tiles 2 4 64 0.5 rows elements mma 2\n")
write("tuning", "short", f"{key} b1t64 recurrent 64 32 8 tiles 2 1 128 0.01\n")
print(f"make_seeds: {len(pieces)} MLIR pieces, {len(metas)} kernel records")
