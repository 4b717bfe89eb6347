// gdn-run --check fails on non-finite results whatever the tolerance (an inf output printed
// as an error of null, exit 1), and gdn-run refuses positive log-gates.
// RUN: rm -rf %t && gdn-run %s --random --seed 5 --batch 1 --seq-len 8 --inputs %t/in --outputs %t/out --check | FileCheck %s --check-prefix=FINITE
// RUN: mkdir -p %t/big && cp %t/in/*.npy %t/big/
// RUN: %python -c "import sys, struct; p = sys.argv[1]; b = bytearray(open(p, 'rb').read()); h = 10 + int.from_bytes(b[8:10], 'little'); b[h:] = struct.pack('<f', 3e38) * ((len(b) - h) // 4); open(p, 'wb').write(b)" %t/big/k.npy
// RUN: %python -c "import sys, struct; p = sys.argv[1]; b = bytearray(open(p, 'rb').read()); h = 10 + int.from_bytes(b[8:10], 'little'); b[h:] = struct.pack('<f', 3e38) * ((len(b) - h) // 4); open(p, 'wb').write(b)" %t/big/v.npy
// RUN: not gdn-run %s --inputs %t/big --outputs %t/x --check 2>&1 | FileCheck %s --check-prefix=INF
// RUN: mkdir -p %t/pos && cp %t/in/*.npy %t/pos/
// RUN: %python -c "import sys; p = sys.argv[1]; b = bytearray(open(p, 'rb').read()); b[-4:] = bytes([0, 0, 0x80, 0x3f]); open(p, 'wb').write(b)" %t/pos/g.npy
// RUN: not gdn-run %s --inputs %t/pos --outputs %t/x 2>&1 | FileCheck %s --check-prefix=POS

// FINITE: "o": {"max_abs_err": {{[0-9.e+-]+}}, "max_rel_err": {{[0-9.e+-]+}}, "non_finite": 0, "non_finite_reference": 0}
// INF: "o": {"max_abs_err": null, "max_rel_err": null, "non_finite": {{[1-9][0-9]*}}, "non_finite_reference": 0}
// INF: gdn-run: error: non-finite results: 'o' has {{[1-9][0-9]*}} non-finite values and its float64 reference 0 (the first at flat index {{[0-9]+}})
// POS: gdn-run: error: 'g' value 1.000000 at flat index 7 is positive: g is a log-space gate (g <= 0)
func.func @layer(%q: tensor<?x?x1x64xf32>, %k: tensor<?x?x1x64xf32>, %v: tensor<?x?x1x64xf32>,
                 %g: tensor<?x?x1xf32>) -> tensor<?x?x1x64xf32> {
  %o = gdn.recurrence <scalar, additive> q(%q : tensor<?x?x1x64xf32>) k(%k : tensor<?x?x1x64xf32>)
      v(%v : tensor<?x?x1x64xf32>) g(%g : tensor<?x?x1xf32>) -> tensor<?x?x1x64xf32>
  return %o : tensor<?x?x1x64xf32>
}
